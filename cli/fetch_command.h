// `demucs-vocals fetch MODEL...`: downloads known models into the model cache.
#pragma once

#include "command.h"

namespace demucs {

Command fetch_command();

}  // namespace demucs
