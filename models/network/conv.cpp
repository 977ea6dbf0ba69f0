#include "network/conv.h"

#include <ATen/ATen.h>

namespace demucs {

Conv1d Conv1d::load(WeightStore& weights, const std::string& prefix, int64_t in, int64_t out, int64_t kernel,
                    int64_t stride, int64_t padding, int64_t dilation) {
  Conv1d conv;
  conv.weight = weights.take(prefix + ".weight", {out, in, kernel});
  conv.bias = weights.take(prefix + ".bias", {out});
  conv.stride = stride;
  conv.padding = padding;
  conv.dilation = dilation;
  return conv;
}

at::Tensor Conv1d::operator()(const at::Tensor& x) const {
  return at::conv1d(x, weight, bias, stride, padding, dilation);
}

Conv2d Conv2d::load(WeightStore& weights, const std::string& prefix, int64_t in, int64_t out,
                    std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride, std::array<int64_t, 2> padding) {
  Conv2d conv;
  conv.weight = weights.take(prefix + ".weight", {out, in, kernel[0], kernel[1]});
  conv.bias = weights.take(prefix + ".bias", {out});
  conv.stride = stride;
  conv.padding = padding;
  return conv;
}

at::Tensor Conv2d::operator()(const at::Tensor& x) const {
  return at::conv2d(x, weight, bias, stride, padding);
}

ConvTranspose1d ConvTranspose1d::load(WeightStore& weights, const std::string& prefix, int64_t in, int64_t out,
                                      int64_t kernel, int64_t stride) {
  ConvTranspose1d conv;
  conv.weight = weights.take(prefix + ".weight", {in, out, kernel});
  conv.bias = weights.take(prefix + ".bias", {out});
  conv.stride = stride;
  return conv;
}

at::Tensor ConvTranspose1d::operator()(const at::Tensor& x) const {
  return at::conv_transpose1d(x, weight, bias, stride);
}

ConvTranspose2d ConvTranspose2d::load(WeightStore& weights, const std::string& prefix, int64_t in, int64_t out,
                                      int64_t kernel, int64_t stride) {
  ConvTranspose2d conv;
  conv.weight = weights.take(prefix + ".weight", {in, out, kernel, 1});
  conv.bias = weights.take(prefix + ".bias", {out});
  conv.stride = stride;
  return conv;
}

at::Tensor ConvTranspose2d::operator()(const at::Tensor& x) const {
  return at::conv_transpose2d(x, weight, bias, at::IntArrayRef{stride, 1});
}

RewriteConv RewriteConv::load(WeightStore& weights, const std::string& prefix, bool freq, int64_t channels,
                              int64_t context) {
  RewriteConv conv;
  conv.freq = freq;
  const int64_t k = 1 + 2 * context;
  if (freq) {
    conv.frequency = Conv2d::load(weights, prefix, channels, 2 * channels, {k, k}, {1, 1}, {context, context});
  } else {
    conv.time = Conv1d::load(weights, prefix, channels, 2 * channels, k, 1, context);
  }
  return conv;
}

}  // namespace demucs
