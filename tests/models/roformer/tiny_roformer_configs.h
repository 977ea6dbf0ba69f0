// The configurations of the tiny fixture models (tests/data/roformer/
// {bs,mel}-tiny.yaml), written out: the network's tests do not depend on the
// YAML reader.
#pragma once

#include "roformer/roformer_config.h"

namespace demucs::testing {

RoformerConfig tiny_bs_roformer_config();
RoformerConfig tiny_mel_roformer_config();

}  // namespace demucs::testing
