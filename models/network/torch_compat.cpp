#include "network/torch_compat.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include <stdexcept>

namespace demucs::torch_compat {

const char* torch_version() { return TORCH_VERSION; }

at::Tensor fused_attention(const at::Tensor& query, const at::Tensor& key, const at::Tensor& value) {
#if DEMUCS_TORCH_AT_LEAST(2, 0)
  // The default scale is 1 / sqrt(query.size(-1)), as MultiheadAttention's.
  return at::scaled_dot_product_attention(query, key, value);
#else
  (void)query;
  (void)key;
  (void)value;
  throw std::logic_error("fused_attention needs LibTorch >= 2.0; this is " TORCH_VERSION);
#endif
}

// LibTorch 2.4 made autocast's functions take the device type; 1.13 to 2.3 have
// one set for CUDA ("gpu") and one for the CPU.
#if DEMUCS_TORCH_AT_LEAST(2, 4)

bool autocast_enabled(c10::DeviceType device) { return at::autocast::is_autocast_enabled(device); }

at::ScalarType autocast_dtype(c10::DeviceType device) { return at::autocast::get_autocast_dtype(device); }

namespace {

void set_autocast(c10::DeviceType device, bool enabled, at::ScalarType dtype) {
  at::autocast::set_autocast_dtype(device, dtype);
  at::autocast::set_autocast_enabled(device, enabled);
}

}  // namespace

#else

bool autocast_enabled(c10::DeviceType device) {
  return device == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}

at::ScalarType autocast_dtype(c10::DeviceType device) {
  return device == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                         : at::autocast::get_autocast_cpu_dtype();
}

namespace {

void set_autocast(c10::DeviceType device, bool enabled, at::ScalarType dtype) {
  if (device == c10::DeviceType::CUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  }
}

}  // namespace

#endif

AutocastScope::AutocastScope(c10::DeviceType device, at::ScalarType dtype)
    : device_(device), was_enabled_(autocast_enabled(device)), previous_dtype_(autocast_dtype(device)) {
  if (device != c10::DeviceType::CUDA && device != c10::DeviceType::CPU) {
    throw std::invalid_argument("autocast: only CPU and CUDA are supported");
  }
  set_autocast(device_, true, dtype);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  // Leaving the outermost scope drops the casts autocast cached (as torch.autocast does).
  if (at::autocast::decrement_nesting() == 0) {
    at::autocast::clear_cache();
  }
  set_autocast(device_, was_enabled_, previous_dtype_);
}

}  // namespace demucs::torch_compat
