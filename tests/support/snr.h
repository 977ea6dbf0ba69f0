// Signal-to-noise ratio of an output against a reference, as the issues define it.
#pragma once

#include <ATen/core/Tensor.h>

namespace demucs::testing {

// 10 * log10(sum(ref^2) / sum((ref - out)^2)), computed in float64.
// Returns +inf when the two are identical.
double snr_db(const at::Tensor& reference, const at::Tensor& output);

}  // namespace demucs::testing
