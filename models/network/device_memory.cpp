#include "network/device_memory.h"

#if DEMUCS_WITH_CUDA_ALLOCATOR
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace demucs {

#if DEMUCS_WITH_CUDA_ALLOCATOR

bool device_memory_figures_available() { return true; }

void release_cached_device_memory(c10::Device device) {
  if (device.is_cuda()) {
    c10::cuda::CUDACachingAllocator::emptyCache();
  }
}

std::optional<DeviceMemoryFigures> device_memory_figures(c10::Device device) {
  if (!device.is_cuda()) {
    return std::nullopt;
  }
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
  // Entry 0 of each statistic is the aggregate over the allocator's pools
  // (StatType::AGGREGATE, in every LibTorch version).
  DeviceMemoryFigures figures;
  figures.allocated_bytes = stats.allocated_bytes[0].current;
  figures.reserved_bytes = stats.reserved_bytes[0].current;
  figures.peak_allocated_bytes = stats.allocated_bytes[0].peak;
  figures.peak_reserved_bytes = stats.reserved_bytes[0].peak;
  return figures;
}

void reset_device_memory_peaks(c10::Device device) {
  if (device.is_cuda()) {
    c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : 0);
  }
}

#else

bool device_memory_figures_available() { return false; }

void release_cached_device_memory(c10::Device /*device*/) {}

std::optional<DeviceMemoryFigures> device_memory_figures(c10::Device /*device*/) { return std::nullopt; }

void reset_device_memory_peaks(c10::Device /*device*/) {}

#endif

}  // namespace demucs
