#include "roformer/roformer_layers.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace demucs {

RmsNorm RmsNorm::load(WeightStore& weights, const std::string& prefix, std::int64_t dim) {
  return {weights.take(prefix + "gamma", {dim}) * std::sqrt(static_cast<double>(dim))};
}

at::Tensor RmsNorm::operator()(const at::Tensor& x) const {
  const at::Tensor norm = at::linalg_vector_norm(x, 2, {-1}, /*keepdim=*/true).clamp_min(1e-12);
  return x / norm * scaled_gamma;
}

Linear Linear::load(WeightStore& weights, const std::string& prefix, std::int64_t in, std::int64_t out,
                    bool with_bias) {
  Linear linear;
  linear.weight = weights.take(prefix + "weight", {out, in});
  if (with_bias) {
    linear.bias = weights.take(prefix + "bias", {out});
  }
  return linear;
}

at::Tensor Linear::operator()(const at::Tensor& x) const { return at::linear(x, weight, bias); }

RotaryEmbedding RotaryEmbedding::load(WeightStore& weights, const std::string& prefix, std::int64_t dim_head) {
  return {weights.take(prefix + "freqs", {dim_head / 2})};
}

std::pair<at::Tensor, at::Tensor> RotaryEmbedding::angles(std::int64_t length) const {
  const at::Tensor positions = at::arange(length, freqs.options());
  // einsum('n, f -> n f') then each angle twice: pairs (0,1), (2,3), ...
  const at::Tensor angle = at::outer(positions, freqs).repeat_interleave(2, -1);
  // rotate_half's sign, (-x2, x1), folded into the sine: -sin for the first of
  // each pair, +sin for the second.
  const at::Tensor sign = at::tensor({-1.0, 1.0}, freqs.options()).repeat({freqs.size(0)});
  return {angle.cos(), angle.sin() * sign};
}

at::Tensor RotaryEmbedding::rotate(const at::Tensor& t, const at::Tensor& cos, const at::Tensor& signed_sin) {
  // rotate_half without its sign: each pair (x1, x2) swapped to (x2, x1).
  auto sizes = t.sizes().vec();
  sizes.back() /= 2;
  sizes.push_back(2);
  const at::Tensor swapped = t.reshape(sizes).flip(-1).reshape(t.sizes());
  // In t's dtype: under autocast t is the linear's bf16/fp16, and the
  // attention's out= products (which autocast does not cast) need q, k and v
  // in one dtype.
  return at::addcmul(t * cos.to(t.scalar_type()), swapped, signed_sin.to(t.scalar_type()));
}

FeedForward FeedForward::load(WeightStore& weights, const std::string& prefix, std::int64_t dim) {
  const std::int64_t inner = dim * 4;  // the reference's FeedForward mult
  return {RmsNorm::load(weights, prefix + "net.0.", dim), Linear::load(weights, prefix + "net.1.", dim, inner),
          Linear::load(weights, prefix + "net.4.", inner, dim)};
}

at::Tensor FeedForward::operator()(const at::Tensor& x) const { return out(at::gelu(in(norm(x)))); }

RotaryAttention RotaryAttention::load(WeightStore& weights, const std::string& prefix, std::int64_t dim,
                                      std::int64_t heads, std::int64_t dim_head) {
  RotaryAttention attention;
  attention.rotary = RotaryEmbedding::load(weights, prefix + "rotary_embed.", dim_head);
  attention.norm = RmsNorm::load(weights, prefix + "norm.", dim);
  attention.to_qkv = weights.take(prefix + "to_qkv.weight", {3 * heads * dim_head, dim});
  attention.to_gates = Linear::load(weights, prefix + "to_gates.", dim, heads);
  attention.to_out = weights.take(prefix + "to_out.0.weight", {dim, heads * dim_head});
  attention.heads = heads;
  attention.dim_head = dim_head;
  return attention;
}

namespace {

// Sequences whose attention weights are computed at once: the (sequences,
// heads, n, n) similarity stays near 64 MiB (a time transformer of a full-size
// model over 801 frames and 62 bands would otherwise hold 1.3 GB of it).
std::int64_t sequences_per_slice(std::int64_t heads, std::int64_t length) {
  constexpr std::int64_t kSimilarityBytes = 64 << 20;
  const std::int64_t per_sequence = heads * length * length * static_cast<std::int64_t>(sizeof(float));
  return std::max<std::int64_t>(1, kSimilarityBytes / std::max<std::int64_t>(per_sequence, 1));
}

}  // namespace

at::Tensor RotaryAttention::operator()(const at::Tensor& input) const {
  const at::Tensor x = norm(input);
  const std::int64_t batch = x.size(0), length = x.size(1);
  // 'b n (qkv h d) -> qkv b h n d'
  const at::Tensor qkv = at::linear(x, to_qkv).view({batch, length, 3, heads, dim_head}).permute({2, 0, 3, 1, 4});
  // The attention scale 1/sqrt(dim_head) goes into q's rotation (exact for
  // the usual power-of-two dim_head), not over the far larger similarity.
  const double scale = 1.0 / std::sqrt(static_cast<double>(dim_head));
  const auto [cos, signed_sin] = rotary.angles(length);
  const at::Tensor q = RotaryEmbedding::rotate(qkv[0], cos * scale, signed_sin * scale);
  const at::Tensor k = RotaryEmbedding::rotate(qkv[1], cos, signed_sin);
  const at::Tensor v = qkv[2];
  at::Tensor out = at::empty({batch, heads, length, dim_head}, q.options());
  const std::int64_t slice = std::min(batch, sequences_per_slice(heads, length));
  // One similarity buffer for every slice, softmax in place: no fresh 64 MiB
  // (page faults, zeroing) per slice.
  at::Tensor similarity = at::empty({slice, heads, length, length}, q.options());
  for (std::int64_t start = 0; start < batch; start += slice) {
    const std::int64_t end = std::min(batch, start + slice);
    at::Tensor weights = similarity.narrow(0, 0, end - start);
    at::matmul_out(weights, q.slice(0, start, end), k.slice(0, start, end).transpose(-1, -2));
    at::_softmax_out(weights, weights, -1, /*half_to_float=*/false);
    at::Tensor out_slice = out.slice(0, start, end);
    at::matmul_out(out_slice, weights, v.slice(0, start, end));
  }
  const at::Tensor gates = to_gates(x).permute({0, 2, 1}).unsqueeze(-1).sigmoid();  // (b, h, n, 1)
  out = (out * gates).permute({0, 2, 1, 3}).reshape({batch, length, heads * dim_head});
  return at::linear(out, to_out);
}

LinearAttention LinearAttention::load(WeightStore& weights, const std::string& prefix, std::int64_t dim,
                                      std::int64_t heads, std::int64_t dim_head) {
  LinearAttention attention;
  attention.norm = RmsNorm::load(weights, prefix + "norm.", dim);
  attention.to_qkv = weights.take(prefix + "to_qkv.0.weight", {3 * heads * dim_head, dim});
  attention.temperature = weights.take(prefix + "temperature", {heads, 1, 1});
  attention.to_out = weights.take(prefix + "to_out.1.weight", {dim, heads * dim_head});
  attention.heads = heads;
  attention.dim_head = dim_head;
  return attention;
}

at::Tensor LinearAttention::operator()(const at::Tensor& input) const {
  const at::Tensor x = norm(input);
  const std::int64_t batch = x.size(0), length = x.size(1);
  // 'b n (qkv h d) -> qkv b h d n': the sequence is the last axis.
  const at::Tensor qkv = at::linear(x, to_qkv).view({batch, length, 3, heads, dim_head}).permute({2, 0, 3, 4, 1});
  const auto l2 = [](const at::Tensor& t) {
    return t / at::linalg_vector_norm(t, 2, {-1}, /*keepdim=*/true).clamp_min(1e-12);
  };
  const at::Tensor q = l2(qkv[0]) * temperature.exp();
  const at::Tensor k = l2(qkv[1]);
  // Attend(scale=8): softmax over features of the cross-covariance.
  const at::Tensor similarity = at::matmul(q, k.transpose(-1, -2)) * 8.0;
  const at::Tensor out = at::matmul(similarity.softmax(-1), qkv[2]);  // (b, h, d, n)
  return at::linear(out.permute({0, 3, 1, 2}).reshape({batch, length, heads * dim_head}), to_out);
}

Transformer Transformer::load(WeightStore& weights, const std::string& prefix, const TransformerShape& shape) {
  Transformer transformer;
  for (std::int64_t i = 0; i < shape.depth; ++i) {
    const std::string layer = prefix + "layers." + std::to_string(i) + ".";
    if (shape.linear_attention) {
      transformer.linear_attention.push_back(
          LinearAttention::load(weights, layer + "0.", shape.dim, shape.heads, shape.dim_head));
    } else {
      transformer.attention.push_back(
          RotaryAttention::load(weights, layer + "0.", shape.dim, shape.heads, shape.dim_head));
    }
    transformer.feed_forward.push_back(FeedForward::load(weights, layer + "1.", shape.dim));
  }
  if (shape.norm_output) {
    transformer.norm = RmsNorm::load(weights, prefix + "norm.", shape.dim);
  }
  return transformer;
}

at::Tensor Transformer::layers_on(at::Tensor x) const {
  for (size_t i = 0; i < feed_forward.size(); ++i) {
    x = (attention.empty() ? linear_attention[i](x) : attention[i](x)) + x;
    x = feed_forward[i](x) + x;
  }
  return norm ? (*norm)(x) : x;
}

at::Tensor Transformer::operator()(const at::Tensor& x) const {
  // Each sequence goes through the layers on its own, so a few at a time
  // give the same numbers while the feed-forward's (tokens, 4 dim)
  // intermediates stay small: a full-size BS-RoFormer's 62 bands x 801
  // frames would otherwise need 400 MB for each.
  constexpr std::int64_t kTokensPerSlice = 8192;
  const std::int64_t sequences = x.size(0), length = x.size(1);
  const std::int64_t per_slice = std::max<std::int64_t>(1, kTokensPerSlice / std::max<std::int64_t>(length, 1));
  if (!linear_attention.empty() || per_slice >= sequences) {
    return layers_on(x);  // linear attention mixes the whole sequence axis: no slices
  }
  at::Tensor out = at::empty_like(x);
  for (std::int64_t start = 0; start < sequences; start += per_slice) {
    const std::int64_t end = std::min(sequences, start + per_slice);
    out.slice(0, start, end).copy_(layers_on(x.slice(0, start, end)));
  }
  return out;
}

}  // namespace demucs
