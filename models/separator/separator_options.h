// The checks of SeparatorOptions (declared in demucs/demucs.h).
#pragma once

#include "demucs/demucs.h"  // SeparatorOptions

#include <cstdint>
#include <string>
#include <vector>

namespace demucs {

// Throws std::invalid_argument naming the bad field.
void validate_separator_options(const SeparatorOptions& options);

}  // namespace demucs
