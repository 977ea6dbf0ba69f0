// `demucs-vocals models`: the known models and what the cache holds of them.
#pragma once

#include "command.h"

namespace demucs {

Command models_command();

}  // namespace demucs
