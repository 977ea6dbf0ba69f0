#include "separator/demix_plan.h"

#include <ATen/ATen.h>

namespace demucs {

DemixPlan make_demix_plan(std::int64_t chunk, int num_overlap) {
  DemixPlan plan;
  plan.chunk = chunk;
  plan.step = chunk / num_overlap;
  plan.fade = chunk / 10;
  plan.border = chunk - plan.step;
  // _getWindowingArray: ones, then the fade-out, then the fade-in written over it.
  plan.window = at::ones({chunk}, at::kFloat);
  plan.window.narrow(0, chunk - plan.fade, plan.fade).copy_(at::linspace(1.0, 0.0, plan.fade, at::kFloat));
  plan.window.narrow(0, 0, plan.fade).copy_(at::linspace(0.0, 1.0, plan.fade, at::kFloat));
  return plan;
}

at::Tensor DemixPlan::chunk_window(bool first, bool last) const {
  if (!first && !last) {
    return window;
  }
  at::Tensor edited = window.clone();
  if (first) {
    edited.narrow(0, 0, fade).fill_(1.0);
  } else {
    edited.narrow(0, chunk - fade, fade).fill_(1.0);
  }
  return edited;
}

at::Tensor reflect_before(const at::Tensor& planar, std::int64_t count) {
  return planar.narrow(-1, 1, count).flip({-1});
}

at::Tensor reflect_after(const at::Tensor& planar, std::int64_t count) {
  const std::int64_t length = planar.size(-1);
  return planar.narrow(-1, length - 1 - count, count).flip({-1});
}

at::Tensor pad_last_chunk(const at::Tensor& part, std::int64_t chunk) {
  const std::int64_t length = part.size(-1);
  const std::int64_t missing = chunk - length;
  if (missing <= 0) {
    return part;
  }
  const at::Tensor tail = length > chunk / 2 ? reflect_after(part, missing)
                                             : at::zeros({part.size(0), missing}, part.options());
  return at::cat({part, tail}, -1);
}

}  // namespace demucs
