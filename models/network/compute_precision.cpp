#include "network/compute_precision.h"

#include <stdexcept>

namespace demucs {

Precision parse_precision(const std::string& name) {
  if (name == "fp32" || name == "float32") return Precision::fp32;
  if (name == "fp16" || name == "float16" || name == "half") return Precision::fp16;
  if (name == "bf16" || name == "bfloat16") return Precision::bf16;
  throw std::invalid_argument("unknown precision '" + name + "': use fp32, fp16 or bf16");
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::fp16:
      return "fp16";
    case Precision::bf16:
      return "bf16";
    case Precision::fp32:
      break;
  }
  return "fp32";
}

void check_precision_on_device(Precision precision, c10::Device device) {
  if (precision == Precision::fp16 && !device.is_cuda()) {
    throw DeviceUnavailableError(
        "precision fp16 needs a CUDA device (the CPU has no fast half-precision kernels); on the CPU use "
        "precision fp32, or bf16");
  }
}

at::ScalarType compute_dtype(Precision precision) {
  switch (precision) {
    case Precision::fp16:
      return at::kHalf;
    case Precision::bf16:
      return at::kBFloat16;
    case Precision::fp32:
      break;
  }
  return at::kFloat;
}

}  // namespace demucs
