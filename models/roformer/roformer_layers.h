// The building blocks of the RoFormer networks, each computing what its
// namesake in the reference (models/bs_roformer/bs_roformer.py) computes in
// eval mode: RMSNorm, linear layers, the feed-forward block, rotary
// attention with per-head gates, linear attention, and the transformer that
// stacks them. Each reads its tensors from a WeightStore under its
// state_dict prefix.
#pragma once

#include "network/weight_store.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace demucs {

// F.normalize(x, dim=-1) * sqrt(dim) * gamma (L2 norm, eps 1e-12).
struct RmsNorm {
  at::Tensor scaled_gamma;  // sqrt(dim) * gamma

  static RmsNorm load(WeightStore& weights, const std::string& prefix, std::int64_t dim);
  at::Tensor operator()(const at::Tensor& x) const;
};

// nn.Linear; bias undefined when the layer has none.
struct Linear {
  at::Tensor weight, bias;

  static Linear load(WeightStore& weights, const std::string& prefix, std::int64_t in, std::int64_t out,
                     bool with_bias = true);
  at::Tensor operator()(const at::Tensor& x) const;
};

// rotary_embedding_torch.RotaryEmbedding(dim=dim_head).rotate_queries_or_keys:
// GPT-J style rotation of interleaved pairs (0,1),(2,3)... by position * freqs.
struct RotaryEmbedding {
  at::Tensor freqs;  // (dim_head / 2,), from the checkpoint

  static RotaryEmbedding load(WeightStore& weights, const std::string& prefix, std::int64_t dim_head);
  // cos and signed sin (-sin, +sin per pair) of positions 0..length-1, each
  // (length, dim_head).
  std::pair<at::Tensor, at::Tensor> angles(std::int64_t length) const;
  // t: (..., length, dim_head); t * cos + rotate_half(t) * sin (both factors
  // may carry a scale), in t's dtype.
  static at::Tensor rotate(const at::Tensor& t, const at::Tensor& cos, const at::Tensor& signed_sin);
};

// RMSNorm, Linear(dim, dim*4), exact GELU, Linear(dim*4, dim).
struct FeedForward {
  RmsNorm norm;
  Linear in, out;

  static FeedForward load(WeightStore& weights, const std::string& prefix, std::int64_t dim);
  at::Tensor operator()(const at::Tensor& x) const;
};

// Softmax attention over the sequence with rotary positions and a sigmoid
// gate per head.
struct RotaryAttention {
  RmsNorm norm;
  at::Tensor to_qkv;  // (3 * heads * dim_head, dim), no bias
  Linear to_gates;    // dim -> heads
  at::Tensor to_out;  // (dim, heads * dim_head), no bias
  RotaryEmbedding rotary;
  std::int64_t heads = 0, dim_head = 0;

  static RotaryAttention load(WeightStore& weights, const std::string& prefix, std::int64_t dim, std::int64_t heads,
                              std::int64_t dim_head);
  at::Tensor operator()(const at::Tensor& x) const;  // (batch, n, dim)
};

// El-Nouby et al.'s cross-covariance attention (the reference's
// LinearAttention): attention between features, over the whole sequence.
struct LinearAttention {
  RmsNorm norm;
  at::Tensor to_qkv;       // (3 * heads * dim_head, dim)
  at::Tensor temperature;  // (heads, 1, 1)
  at::Tensor to_out;       // (dim, heads * dim_head)
  std::int64_t heads = 0, dim_head = 0;

  static LinearAttention load(WeightStore& weights, const std::string& prefix, std::int64_t dim, std::int64_t heads,
                              std::int64_t dim_head);
  at::Tensor operator()(const at::Tensor& x) const;  // (batch, n, dim)
};

struct TransformerShape {
  std::int64_t dim = 0, depth = 0, heads = 0, dim_head = 0;
  bool linear_attention = false;
  bool norm_output = false;  // Mel-Band RoFormer: an RMSNorm at the end
};

// Residual attention and feed-forward blocks, then the optional output norm.
struct Transformer {
  std::vector<RotaryAttention> attention;  // when !linear
  std::vector<LinearAttention> linear_attention;
  std::vector<FeedForward> feed_forward;
  std::optional<RmsNorm> norm;

  static Transformer load(WeightStore& weights, const std::string& prefix, const TransformerShape& shape);
  // (sequences, n, dim), a slice of the sequences at a time.
  at::Tensor operator()(const at::Tensor& x) const;

 private:
  at::Tensor layers_on(at::Tensor x) const;
};

}  // namespace demucs
