// The storage classes torch.save names in its pickles ("torch.HalfStorage",
// ...) and the element types they hold. Shared by the pickle reader and writer.
#pragma once

#include <c10/core/ScalarType.h>

#include <map>
#include <string>

namespace demucs {

// "torch.HalfStorage" -> at::kHalf, ... (every class the reader accepts).
const std::map<std::string, at::ScalarType>& torch_storage_types();

// The storage class torch.save writes for tensors of `dtype` ("torch.HalfStorage"
// for at::kHalf). Throws std::invalid_argument for a type it has no class for.
std::string torch_storage_type(at::ScalarType dtype);

}  // namespace demucs
