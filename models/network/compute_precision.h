// The precision the network computes in (demucs::Precision, demucs/demucs.h):
// names, what each device can run, and the dtype of half precision.
#pragma once

#include "demucs/demucs.h"  // Precision

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace demucs {

// Throws DeviceUnavailableError when `device` cannot run `precision`: fp16 on
// the CPU (LibTorch's CPU kernels lack half-precision convolutions and matrix
// products); the message says what to use instead.
void check_precision_on_device(Precision precision, c10::Device device);

// kHalf for fp16, kBFloat16 for bf16, kFloat for fp32.
at::ScalarType compute_dtype(Precision precision);

}  // namespace demucs
