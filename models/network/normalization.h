// Normalisation layers with affine weights from the checkpoint.
#pragma once

#include "network/weight_store.h"

#include <ATen/core/Tensor.h>

#include <string>

namespace demucs {

// nn.GroupNorm over dim 1 (channels), or the identity when not enabled
// (upstream uses nn.Identity for layers before `norm_starts`).
struct GroupNorm {
  bool enabled = false;
  int64_t groups = 1;
  at::Tensor weight;
  at::Tensor bias;

  static GroupNorm load(WeightStore& weights, const std::string& prefix, int64_t groups, int64_t channels);
  static GroupNorm identity() { return {}; }
  // load() when `enabled`, else the identity.
  static GroupNorm load_if(bool enabled, WeightStore& weights, const std::string& prefix, int64_t groups,
                           int64_t channels) {
    return enabled ? load(weights, prefix, groups, channels) : identity();
  }
  at::Tensor operator()(const at::Tensor& x) const;
};

// nn.LayerNorm over the last dim (eps 1e-5).
struct LayerNorm {
  at::Tensor weight;
  at::Tensor bias;

  static LayerNorm load(WeightStore& weights, const std::string& prefix, int64_t channels);
  at::Tensor operator()(const at::Tensor& x) const;
};

// Upstream's MyGroupNorm: a GroupNorm applied to a channel-last (B, T, C) tensor.
struct ChannelLastGroupNorm {
  GroupNorm norm;

  static ChannelLastGroupNorm load(WeightStore& weights, const std::string& prefix, int64_t groups, int64_t channels);
  at::Tensor operator()(const at::Tensor& x) const;
};

}  // namespace demucs
