// The kwargs of the official pretrained HTDemucs models (as stored in their
// checkpoints), to build the real architectures with random weights.
#pragma once

#include "checkpoint/pickle_value.h"

#include <map>
#include <string>

namespace demucs {

// htdemucs (955717e8): 4 sources, 48 channels, 512 bottom channels, 5
// transformer layers, segment 39/5 s.
std::map<std::string, PickleValue> official_htdemucs_kwargs();

}  // namespace demucs
