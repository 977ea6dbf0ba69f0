// The reference demix (ZFTurbo Music-Source-Separation-Training
// utils/model_utils.py demix, generic mode) ported line by line on a whole
// array, without streaming: what DemixSeparator must reproduce.
#pragma once

#include "separator/segment_model.h"

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace demucs::testing {

// mix: float32 (channels, length). Returns float32 (sources, channels, length).
// A model output shorter than a chunk's frames counts as zeros after its end
// (DemixSeparator's rule; the reference itself would fail on it).
at::Tensor reference_demix(SegmentModel& model, const at::Tensor& mix, std::int64_t chunk_size, int num_overlap,
                           int batch_size = 1);

}  // namespace demucs::testing
