#include "network/cross_transformer.h"

#include "network/openblas_kernels.h"
#include "network/positional_embedding.h"
#include "network/torch_compat.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

namespace demucs {

namespace {

// Float32 on the CPU without autocast, where LibTorch's OpenMP threads spin
// between operations: the matrix products below are split between them by
// libdemucs itself, each calling a single-threaded OpenBLAS
// (CrossTransformer's SingleThreadedBlas), so that no OpenBLAS thread
// competes with a spinning one. Where they sleep, OpenBLAS threads itself.
bool split_between_threads(const at::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == at::kFloat &&
         !torch_compat::autocast_enabled(c10::DeviceType::CPU) && openmp_threads_spin();
}

// at::linear(x, weight, bias), the rows of x split between the threads; the
// same addmm on each row as at::linear's on all of them.
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (!split_between_threads(x)) {
    return at::linear(x, weight, bias);
  }
  const at::Tensor rows = x.reshape({-1, x.size(-1)}).contiguous();
  at::Tensor out = at::empty({rows.size(0), weight.size(0)}, rows.options());
  const at::Tensor weight_t = weight.t();
  constexpr int64_t kRowGrain = 64;
  at::parallel_for(0, rows.size(0), kRowGrain, [&](int64_t begin, int64_t end) {
    at::Tensor block = out.slice(0, begin, end);
    at::addmm_out(block, bias, rows.slice(0, begin, end), weight_t);
  });
  std::vector<int64_t> sizes = x.sizes().vec();
  sizes.back() = weight.size(0);
  return out.view(sizes);
}

// softmax(q k^T) v for the queries [start, end): scores of one block stay
// small and the full (N, N) matrix is never held. The softmax is float32
// under autocast too, as PyTorch's on CUDA.
void attend_block(const at::Tensor& q, const at::Tensor& keys_t, const at::Tensor& value, int64_t start, int64_t end,
                  at::Tensor& mixed) {
  const at::Tensor scores = at::softmax(at::bmm(q.slice(1, start, end), keys_t), -1, at::kFloat);
  const at::Tensor block = at::bmm(scores, value);
  if (!mixed.defined()) {
    mixed = at::empty({q.size(0), q.size(1), value.size(2)}, block.options());
  }
  mixed.slice(1, start, end).copy_(block);
}

}  // namespace

at::Tensor attention(const at::Tensor& query, const at::Tensor& key, const at::Tensor& value) {
  if constexpr (torch_compat::kHasFusedAttention) {
    return torch_compat::fused_attention(query, key, value);
  }
  const int64_t n = query.size(1), head_dim = query.size(2);
  const at::Tensor q = query / std::sqrt(static_cast<double>(head_dim));
  const at::Tensor keys_t = key.transpose(1, 2).contiguous();
  constexpr int64_t kQueryBlock = 256;
  at::Tensor mixed;
  if (!split_between_threads(q)) {
    for (int64_t start = 0; start < n; start += kQueryBlock) {
      attend_block(q, keys_t, value, start, std::min(n, start + kQueryBlock), mixed);
    }
    return mixed;
  }
  // Blocks of at most kQueryBlock queries, as many as a multiple of the
  // thread count, each thread taking a run of them: one parallel region for
  // the whole attention.
  const int64_t threads = at::get_num_threads();
  int64_t blocks = (n + kQueryBlock - 1) / kQueryBlock;
  blocks = (blocks + threads - 1) / threads * threads;
  const int64_t block_size = (n + blocks - 1) / blocks;
  mixed = at::empty({q.size(0), n, value.size(2)}, q.options());
  at::parallel_for(0, blocks, 1, [&](int64_t first, int64_t last) {
    for (int64_t b = first; b < last; ++b) {
      const int64_t start = std::min(n, b * block_size), end = std::min(n, (b + 1) * block_size);
      if (start < end) {
        attend_block(q, keys_t, value, start, end, mixed);
      }
    }
  });
  return mixed;
}

MultiheadAttention MultiheadAttention::load(WeightStore& weights, const std::string& prefix, int64_t dim,
                                            int64_t heads) {
  MultiheadAttention mha;
  mha.heads_ = heads;
  mha.in_weight_ = weights.take(prefix + ".in_proj_weight", {3 * dim, dim});
  mha.in_bias_ = weights.take(prefix + ".in_proj_bias", {3 * dim});
  mha.out_weight_ = weights.take(prefix + ".out_proj.weight", {dim, dim});
  mha.out_bias_ = weights.take(prefix + ".out_proj.bias", {dim});
  return mha;
}

at::Tensor MultiheadAttention::operator()(const at::Tensor& query, const at::Tensor& key_value) const {
  const int64_t batch = query.size(0), nq = query.size(1), nk = key_value.size(1), dim = query.size(2);
  const int64_t head_dim = dim / heads_;
  const auto w = in_weight_.chunk(3, 0);
  const auto b = in_bias_.chunk(3, 0);
  // (B, N, C) -> (B * H, N, D)
  const auto split_heads = [&](const at::Tensor& t, int64_t n) {
    return t.view({batch, n, heads_, head_dim}).transpose(1, 2).reshape({batch * heads_, n, head_dim});
  };
  const at::Tensor q = split_heads(linear(query, w[0], b[0]), nq);
  const at::Tensor k = split_heads(linear(key_value, w[1], b[1]), nk);
  const at::Tensor v = split_heads(linear(key_value, w[2], b[2]), nk);
  at::Tensor mixed = attention(q, k, v);
  mixed = mixed.reshape({batch, heads_, nq, head_dim}).transpose(1, 2).reshape({batch, nq, dim});
  return linear(mixed, out_weight_, out_bias_);
}

TokenNorm TokenNorm::load(WeightStore& weights, const std::string& prefix, Kind kind, int64_t dim) {
  TokenNorm norm;
  norm.kind_ = kind;
  if (kind == Kind::Layer) {
    norm.layer_ = LayerNorm::load(weights, prefix, dim);
  } else if (kind == Kind::Group) {
    norm.group_ = ChannelLastGroupNorm::load(weights, prefix, 1, dim);
  }
  return norm;
}

at::Tensor TokenNorm::operator()(const at::Tensor& x) const {
  switch (kind_) {
    case Kind::Layer:
      return layer_(x);
    case Kind::Group:
      return group_(x);
    case Kind::Identity:
      break;
  }
  return x;
}

TransformerLayer TransformerLayer::load(WeightStore& weights, const std::string& prefix, bool cross,
                                        const HTDemucsConfig& config, int64_t dim) {
  TransformerLayer layer;
  layer.cross_ = cross;
  layer.norm_first_ = config.t_norm_first;
  layer.gelu_ = config.t_gelu;
  const int64_t hidden = static_cast<int64_t>(static_cast<double>(dim) * config.t_hidden_scale);
  layer.attention_ = MultiheadAttention::load(weights, prefix + (cross ? ".cross_attn" : ".self_attn"), dim,
                                              config.t_heads);
  layer.linear1_w_ = weights.take(prefix + ".linear1.weight", {hidden, dim});
  layer.linear1_b_ = weights.take(prefix + ".linear1.bias", {hidden});
  layer.linear2_w_ = weights.take(prefix + ".linear2.weight", {dim, hidden});
  layer.linear2_b_ = weights.take(prefix + ".linear2.bias", {dim});
  const auto kind = config.t_group_norm ? TokenNorm::Kind::Group : TokenNorm::Kind::Layer;
  layer.norm1_ = TokenNorm::load(weights, prefix + ".norm1", kind, dim);
  layer.norm2_ = TokenNorm::load(weights, prefix + ".norm2", kind, dim);
  if (cross) {
    layer.norm3_ = TokenNorm::load(weights, prefix + ".norm3", kind, dim);
  }
  if (config.t_norm_first && config.t_norm_out) {
    layer.norm_out_ = ChannelLastGroupNorm::load(weights, prefix + ".norm_out", 1, dim);
  }
  if (config.t_layer_scale) {
    layer.gamma1_ = weights.take(prefix + ".gamma_1.scale", {dim});
    layer.gamma2_ = weights.take(prefix + ".gamma_2.scale", {dim});
  }
  return layer;
}

at::Tensor TransformerLayer::feed_forward(const at::Tensor& x) const {
  const at::Tensor h = linear(x, linear1_w_, linear1_b_);
  return linear(gelu_ ? at::gelu(h) : at::relu(h), linear2_w_, linear2_b_);
}

at::Tensor TransformerLayer::operator()(const at::Tensor& x, const at::Tensor& other) const {
  const auto scaled = [](const at::Tensor& gamma, const at::Tensor& y) { return gamma.defined() ? gamma * y : y; };
  at::Tensor out;
  if (norm_first_) {
    if (cross_) {
      out = x + scaled(gamma1_, attention_(norm1_(x), norm2_(other)));
      out = out + scaled(gamma2_, feed_forward(norm3_(out)));
    } else {
      const at::Tensor normed = norm1_(x);
      out = x + scaled(gamma1_, attention_(normed, normed));
      out = out + scaled(gamma2_, feed_forward(norm2_(out)));
    }
    if (norm_out_) {
      out = (*norm_out_)(out);
    }
  } else {
    out = norm1_(x + scaled(gamma1_, attention_(x, cross_ ? other : x)));
    out = norm2_(out + scaled(gamma2_, feed_forward(out)));
  }
  return out;
}

CrossTransformer CrossTransformer::load(WeightStore& weights, const std::string& prefix,
                                        const HTDemucsConfig& config, int64_t dim) {
  CrossTransformer t;
  t.config_ = config;
  const auto in_kind = config.t_norm_in         ? TokenNorm::Kind::Layer
                       : config.t_norm_in_group ? TokenNorm::Kind::Group
                                                : TokenNorm::Kind::Identity;
  t.norm_in_ = TokenNorm::load(weights, prefix + ".norm_in", in_kind, dim);
  t.norm_in_t_ = TokenNorm::load(weights, prefix + ".norm_in_t", in_kind, dim);
  if (config.t_emb == "scaled") {
    constexpr double boost = 3.0;  // upstream transformer.ScaledEmbedding
    t.scaled_positions_ =
        weights.take(prefix + ".position_embeddings.embedding.weight", {config.t_max_positions, dim}) * boost;
  }
  const int classic_parity = config.t_cross_first ? 1 : 0;
  for (int idx = 0; idx < config.t_layers; ++idx) {
    const bool cross = idx % 2 != classic_parity;
    const std::string n = std::to_string(idx);
    t.layers_.push_back(TransformerLayer::load(weights, prefix + ".layers." + n, cross, config, dim));
    t.layers_t_.push_back(TransformerLayer::load(weights, prefix + ".layers_t." + n, cross, config, dim));
  }
  return t;
}

at::Tensor CrossTransformer::time_positions(int64_t length, int64_t dim, at::Device device) const {
  if (config_.t_emb == "cape") {
    return cape_embedding(length, dim, config_.t_cape_mean_normalize, config_.t_max_period, device);
  }
  if (config_.t_emb == "scaled") {
    return scaled_positions_.slice(0, 0, length).unsqueeze(1);
  }
  return sin_embedding(length, dim, config_.t_max_period, device);
}

std::pair<at::Tensor, at::Tensor> CrossTransformer::operator()(const at::Tensor& x_in, const at::Tensor& xt_in) const {
  std::optional<SingleThreadedBlas> one_pool;
  if (split_between_threads(x_in)) {
    one_pool.emplace();
  }
  const int64_t channels = x_in.size(1), freqs = x_in.size(2), frames = x_in.size(3);
  const double w = config_.t_weight_pos_embed;

  // Spectrogram tokens in (time, frequency) order: "b c fr t1 -> b (t1 fr) c".
  const auto to_tokens = [](const at::Tensor& t) { return t.permute({0, 3, 2, 1}).flatten(1, 2); };
  at::Tensor x = norm_in_(to_tokens(x_in));
  x = x + w * to_tokens(sin_embedding_2d(channels, freqs, frames, config_.t_max_period, x_in.device()));

  at::Tensor xt = norm_in_t_(xt_in.transpose(1, 2));
  xt = xt + w * time_positions(xt.size(1), channels, xt_in.device()).transpose(0, 1);

  for (size_t idx = 0; idx < layers_.size(); ++idx) {
    const at::Tensor x_before = x;
    x = layers_[idx](x, xt);
    xt = layers_t_[idx](xt, x_before);
  }
  x = x.view({x.size(0), frames, freqs, channels}).permute({0, 3, 2, 1});
  return {x, xt.transpose(1, 2)};
}

}  // namespace demucs
