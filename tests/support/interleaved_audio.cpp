#include "support/interleaved_audio.h"

#include <ATen/ATen.h>

namespace demucs::testing {

std::vector<float> interleaved(const at::Tensor& planar) {
  const at::Tensor t = planar.to(at::kFloat).t().contiguous();
  return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
}

at::Tensor planar_stereo(const std::vector<float>& samples) {
  return at::from_blob(const_cast<float*>(samples.data()), {static_cast<int64_t>(samples.size()) / 2, 2},
                       at::kFloat)
      .t()
      .clone();
}

}  // namespace demucs::testing
