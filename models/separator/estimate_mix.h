// How upstream turns the outputs of the passes into the estimate, per frame:
// the mean over a model's shifts, then the weighted mean over the bag.
#pragma once

#include "separator/stem_selection.h"

#include <ATen/core/Tensor.h>

#include <vector>

namespace demucs {

// shifts == 0: the single pass output. Otherwise `out = 0; out += shifted_out
// (each shift in order); out /= shifts`. Outputs are (stems, channels, n).
at::Tensor average_shifts(const std::vector<at::Tensor>& shift_outputs, int shifts);

// model_outputs: one (stems, channels, n) per running model of `selection`.
// Upstream's BagOfModels branch: `estimates = 0; out[:, k] *= w[k]; estimates
// += out` per model in bag order, then `estimates[:, k] /= totals[k]`.
at::Tensor bag_estimate(const std::vector<at::Tensor>& model_outputs,
                        const StemSelection& selection);

}  // namespace demucs
