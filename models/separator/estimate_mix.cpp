#include "separator/estimate_mix.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <stdexcept>

namespace demucs {

at::Tensor average_shifts(const std::vector<at::Tensor>& shift_outputs, int shifts) {
  if (shift_outputs.empty()) {
    throw std::logic_error("average_shifts: no output");
  }
  if (shifts == 0) {
    return shift_outputs.front();
  }
  at::Tensor out = at::zeros_like(shift_outputs.front());
  for (const at::Tensor& shifted : shift_outputs) {
    out.add_(shifted);
  }
  out.div_(static_cast<std::int64_t>(shifts));
  return out;
}

at::Tensor bag_estimate(const std::vector<at::Tensor>& model_outputs,
                        const StemSelection& selection) {
  if (model_outputs.size() != selection.running_models.size() || model_outputs.empty()) {
    throw std::logic_error("bag_estimate: one output per running model expected");
  }
  if (selection.single_model) {
    return model_outputs.front();
  }
  at::Tensor estimates = at::zeros_like(model_outputs.front());
  for (std::size_t model = 0; model < model_outputs.size(); ++model) {
    for (std::size_t stem = 0; stem < selection.names.size(); ++stem) {
      const auto k = static_cast<std::int64_t>(stem);
      estimates.select(0, k).add_(model_outputs[model].select(0, k).mul(selection.weights[model][stem]));
    }
  }
  for (std::size_t stem = 0; stem < selection.names.size(); ++stem) {
    estimates.select(0, static_cast<std::int64_t>(stem)).div_(selection.totals[stem]);
  }
  return estimates;
}

}  // namespace demucs
