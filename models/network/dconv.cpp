#include "network/dconv.h"

#include <ATen/ATen.h>

#include <cstdlib>

namespace demucs {

DConv DConv::load(WeightStore& weights, const std::string& prefix, int64_t channels, int depth, double compress) {
  constexpr int64_t kernel = 3;
  const int64_t hidden = static_cast<int64_t>(static_cast<double>(channels) / compress);
  const bool dilate = depth > 0;
  DConv dconv;
  for (int d = 0; d < std::abs(depth); ++d) {
    const int64_t dilation = dilate ? (int64_t{1} << d) : 1;
    const std::string p = prefix + ".layers." + std::to_string(d);
    Layer layer;
    // Sequential indices: 0 conv, 1 norm, 2 GELU, 3 conv, 4 norm, 5 GLU, 6 LayerScale.
    layer.dilated = Conv1d::load(weights, p + ".0", channels, hidden, kernel, 1, dilation * (kernel / 2), dilation);
    layer.norm1 = GroupNorm::load(weights, p + ".1", 1, hidden);
    layer.expand = Conv1d::load(weights, p + ".3", hidden, 2 * channels, 1);
    layer.norm2 = GroupNorm::load(weights, p + ".4", 1, 2 * channels);
    layer.scale = weights.take(p + ".6.scale", {channels});
    dconv.layers_.push_back(std::move(layer));
  }
  return dconv;
}

at::Tensor DConv::operator()(const at::Tensor& x) const {
  if (x.dim() == 3) {
    return along_time(x);
  }
  const int64_t b = x.size(0), c = x.size(1), f = x.size(2), t = x.size(3);
  const at::Tensor rows = along_time(x.permute({0, 2, 1, 3}).reshape({-1, c, t}));
  return rows.view({b, f, c, t}).permute({0, 2, 1, 3});
}

at::Tensor DConv::along_time(at::Tensor x) const {
  for (const Layer& layer : layers_) {
    // The normalisations' outputs are fresh tensors: GELU in place, and the
    // LayerScale and residual sum in the GLU's output, so that no more than
    // one (2 * channels)-wide tensor and the input live at a time.
    at::Tensor y = layer.norm1(layer.dilated(x));
    at::gelu_out(y, y);
    y = at::glu(layer.norm2(layer.expand(y)), 1);
    x = y.mul_(layer.scale.unsqueeze(1)).add_(x);
  }
  return x;
}

}  // namespace demucs
