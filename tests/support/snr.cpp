#include "support/snr.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace demucs::testing {

double snr_db(const at::Tensor& reference, const at::Tensor& output) {
  if (reference.sizes() != output.sizes()) {
    throw std::runtime_error("snr_db: shapes differ");
  }
  const at::Tensor ref = reference.to(at::kDouble).cpu();
  const at::Tensor out = output.to(at::kDouble).cpu();
  const double signal = ref.pow(2).sum().item<double>();
  const double noise = (ref - out).pow(2).sum().item<double>();
  if (noise == 0.0) {
    return std::numeric_limits<double>::infinity();
  }
  return 10.0 * std::log10(signal / noise);
}

}  // namespace demucs::testing
