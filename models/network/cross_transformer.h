// The cross-domain transformer at the bottom of HTDemucs (upstream
// transformer.py CrossTransformerEncoder, eval mode, dense attention):
// alternating self-attention and cross-attention layers over the
// spectrogram branch and the waveform branch.
#pragma once

#include "network/htdemucs_config.h"
#include "network/normalization.h"
#include "network/weight_store.h"

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace demucs {

// softmax(query key^T / sqrt(D)) value for (batch, N, D) query and (batch, M,
// D) key and value: the attention of MultiheadAttention's heads. With
// LibTorch >= 2.0 at::scaled_dot_product_attention (torch_compat.h), else a
// product by blocks of queries.
at::Tensor attention(const at::Tensor& query, const at::Tensor& key, const at::Tensor& value);

// nn.MultiheadAttention with batch_first=True.
class MultiheadAttention {
 public:
  static MultiheadAttention load(WeightStore& weights, const std::string& prefix, int64_t dim, int64_t heads);
  // query: (B, Nq, C), key_value: (B, Nk, C) -> (B, Nq, C).
  at::Tensor operator()(const at::Tensor& query, const at::Tensor& key_value) const;

 private:
  int64_t heads_ = 1;
  at::Tensor in_weight_, in_bias_, out_weight_, out_bias_;
};

// LayerNorm, or upstream's MyGroupNorm over (tokens, channels) when
// t_group_norm / t_norm_in_group is set, or the identity.
class TokenNorm {
 public:
  enum class Kind { Identity, Layer, Group };
  static TokenNorm load(WeightStore& weights, const std::string& prefix, Kind kind, int64_t dim);
  at::Tensor operator()(const at::Tensor& x) const;

 private:
  Kind kind_ = Kind::Identity;
  LayerNorm layer_;
  ChannelLastGroupNorm group_;
};

// One layer: self-attention (MyTransformerEncoderLayer) or cross-attention
// (CrossTransformerEncoderLayer), each followed by the feed-forward block.
class TransformerLayer {
 public:
  static TransformerLayer load(WeightStore& weights, const std::string& prefix, bool cross,
                               const HTDemucsConfig& config, int64_t dim);
  // x: (B, N, C); `other` (B, M, C) is the other branch for a cross layer.
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& other = {}) const;

 private:
  at::Tensor feed_forward(const at::Tensor& x) const;

  bool cross_ = false;
  bool norm_first_ = true;
  bool gelu_ = true;
  MultiheadAttention attention_;
  at::Tensor linear1_w_, linear1_b_, linear2_w_, linear2_b_;
  TokenNorm norm1_, norm2_, norm3_;
  std::optional<ChannelLastGroupNorm> norm_out_;
  at::Tensor gamma1_, gamma2_;  // LayerScale; undefined when t_layer_scale is off
};

class CrossTransformer {
 public:
  static CrossTransformer load(WeightStore& weights, const std::string& prefix, const HTDemucsConfig& config,
                               int64_t dim);
  // x: (B, C, F, T1) spectrogram branch, xt: (B, C, T2) waveform branch.
  std::pair<at::Tensor, at::Tensor> operator()(const at::Tensor& x, const at::Tensor& xt) const;

 private:
  at::Tensor time_positions(int64_t length, int64_t dim, at::Device device) const;

  HTDemucsConfig config_;
  TokenNorm norm_in_, norm_in_t_;
  at::Tensor scaled_positions_;  // t_emb == "scaled": (max_positions, dim), already x boost
  std::vector<TransformerLayer> layers_, layers_t_;
};

}  // namespace demucs
