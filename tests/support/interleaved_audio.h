// Conversions between planar tensors and the interleaved float samples
// GStreamer buffers carry, for tests.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace demucs::testing {

// (channels, frames) -> frames * channels interleaved values.
std::vector<float> interleaved(const at::Tensor& planar);

// Interleaved stereo -> (2, frames).
at::Tensor planar_stereo(const std::vector<float>& samples);

}  // namespace demucs::testing
