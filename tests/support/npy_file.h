// Reads NumPy .npy files (format 1.0, little-endian float32 or int64, C order): the
// reference outputs upstream Demucs produced.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace demucs::testing {

// Returns a float32 (or int64) CPU tensor of the stored shape. Throws std::runtime_error.
at::Tensor read_npy(const std::string& path);

}  // namespace demucs::testing
