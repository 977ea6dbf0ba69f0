#include "network/normalization.h"

#include <ATen/ATen.h>

namespace demucs {

// Normalisations compute in float32 whatever the input (half precision under
// autocast included): their means and variances are where half loses most.

GroupNorm GroupNorm::load(WeightStore& weights, const std::string& prefix, int64_t groups, int64_t channels) {
  GroupNorm norm;
  norm.enabled = true;
  norm.groups = groups;
  norm.weight = weights.take(prefix + ".weight", {channels});
  norm.bias = weights.take(prefix + ".bias", {channels});
  return norm;
}

at::Tensor GroupNorm::operator()(const at::Tensor& x) const {
  return enabled ? at::group_norm(x.to(at::kFloat), groups, weight, bias, 1e-5) : x;
}

LayerNorm LayerNorm::load(WeightStore& weights, const std::string& prefix, int64_t channels) {
  LayerNorm norm;
  norm.weight = weights.take(prefix + ".weight", {channels});
  norm.bias = weights.take(prefix + ".bias", {channels});
  return norm;
}

at::Tensor LayerNorm::operator()(const at::Tensor& x) const {
  return at::layer_norm(x.to(at::kFloat), {weight.size(0)}, weight, bias, 1e-5);
}

ChannelLastGroupNorm ChannelLastGroupNorm::load(WeightStore& weights, const std::string& prefix, int64_t groups,
                                                int64_t channels) {
  return {GroupNorm::load(weights, prefix, groups, channels)};
}

at::Tensor ChannelLastGroupNorm::operator()(const at::Tensor& x) const {
  return norm(x.transpose(1, 2)).transpose(1, 2);
}

}  // namespace demucs
