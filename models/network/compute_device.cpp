#include "network/compute_device.h"

#include <ATen/Context.h>

namespace demucs {

namespace {

bool cuda_usable() { return at::hasCUDA() && at::getNumGPUs() > 0; }

}  // namespace

c10::Device parse_compute_device(const std::string& name) {
  if (name.empty() || name == "auto") {
    return cuda_usable() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  }
  if (name == "cpu") {
    return c10::Device(c10::kCPU);
  }
  if (name.rfind("cuda", 0) != 0) {
    throw std::invalid_argument("unknown device '" + name + "': use auto, cpu, cuda or cuda:N");
  }
  if (!at::hasCUDA()) {
    throw DeviceUnavailableError("device '" + name +
                                 "' was requested, but this build uses a LibTorch without CUDA support; use "
                                 "device=cpu, or rebuild with a CUDA LibTorch (meson setup -Dlibtorch=/path/to/libtorch)");
  }
  c10::Device device(c10::kCUDA, 0);
  try {
    device = c10::Device(name);
  } catch (const std::exception&) {
    throw std::invalid_argument("unknown device '" + name + "': use auto, cpu, cuda or cuda:N");
  }
  const int index = device.has_index() ? device.index() : 0;
  if (index >= static_cast<int>(at::getNumGPUs())) {
    throw DeviceUnavailableError("device '" + name + "' was requested, but " + std::to_string(at::getNumGPUs()) +
                                 " CUDA device(s) are visible");
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

}  // namespace demucs
