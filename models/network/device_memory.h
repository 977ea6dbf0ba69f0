// GPU memory as LibTorch's CUDA caching allocator holds it: released when a
// model is dropped, and measured by the benchmark. Needs the CUDA runtime
// headers at build time (meson finds them next to a CUDA LibTorch); without
// them the release does nothing and no figures are available.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <optional>

namespace demucs {

struct DeviceMemoryFigures {
  std::int64_t allocated_bytes = 0;       // held by tensors now
  std::int64_t reserved_bytes = 0;        // held by the allocator now (tensors and cache)
  std::int64_t peak_allocated_bytes = 0;  // most held by tensors since the last reset
  std::int64_t peak_reserved_bytes = 0;
};

// Whether this build can measure and release CUDA memory.
bool device_memory_figures_available();

// Gives the allocator's unused cached blocks back to the driver (PyTorch's
// torch.cuda.empty_cache()). Nothing on the CPU.
void release_cached_device_memory(c10::Device device);

// The figures of a CUDA device; nullopt on the CPU or without the CUDA headers.
std::optional<DeviceMemoryFigures> device_memory_figures(c10::Device device);

// Starts the peaks afresh from the current figures.
void reset_device_memory_peaks(c10::Device device);

}  // namespace demucs
