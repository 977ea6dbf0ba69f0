// What differs between the LibTorch versions libdemucs builds with: Debian's
// 1.13 and the 2.x of PyTorch's wheels (TORCH_VERSION_MAJOR/MINOR from
// torch/version.h). Every #if on the LibTorch version is here or in
// torch_compat.cpp, nowhere else.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>
#include <torch/version.h>

#define DEMUCS_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace demucs::torch_compat {

// "1.13.0", "2.11.0": the LibTorch this was compiled against.
const char* torch_version();

// Whether fused_attention() is at::scaled_dot_product_attention (LibTorch >= 2.0).
constexpr bool kHasFusedAttention = DEMUCS_TORCH_AT_LEAST(2, 0);

// softmax(q k^T / sqrt(D)) v for (batch, N, D) query and (batch, M, D) key and
// value, through at::scaled_dot_product_attention (flash / memory-efficient
// kernels on CUDA). Only with kHasFusedAttention: std::logic_error otherwise.
at::Tensor fused_attention(const at::Tensor& query, const at::Tensor& key, const at::Tensor& value);

// Autocast (the dispatcher's automatic mixed precision) for the current
// thread: on while it lives, for `device` (CPU or CUDA), in `dtype` (kHalf,
// kBFloat16); the previous state comes back at its end. As PyTorch's
// torch.autocast: convolutions, linear layers, matrix products and attention
// run in `dtype`, softmax and the normalisations on CUDA in float32.
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, at::ScalarType dtype);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool was_enabled_;
  at::ScalarType previous_dtype_;
};

// Whether autocast is on for `device` in this thread, and in which dtype.
bool autocast_enabled(c10::DeviceType device);
at::ScalarType autocast_dtype(c10::DeviceType device);

}  // namespace demucs::torch_compat
