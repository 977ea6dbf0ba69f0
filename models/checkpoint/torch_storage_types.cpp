#include "checkpoint/torch_storage_types.h"

#include <stdexcept>

namespace demucs {

const std::map<std::string, at::ScalarType>& torch_storage_types() {
  static const std::map<std::string, at::ScalarType> types = {
      {"torch.HalfStorage", at::kHalf},
      {"torch.FloatStorage", at::kFloat},
      {"torch.DoubleStorage", at::kDouble},
      {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},
      {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},
      {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},
      {"torch.BoolStorage", at::kBool},
      {"torch.ComplexFloatStorage", at::kComplexFloat},
      {"torch.ComplexDoubleStorage", at::kComplexDouble},
      {"torch.UntypedStorage", at::kByte},
  };
  return types;
}

std::string torch_storage_type(at::ScalarType dtype) {
  for (const auto& [name, type] : torch_storage_types()) {
    if (type == dtype && name != "torch.UntypedStorage") {
      return name;
    }
  }
  throw std::invalid_argument(std::string("torch.save has no storage class for tensors of type ") +
                              c10::toString(dtype));
}

}  // namespace demucs
