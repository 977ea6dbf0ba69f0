// Convolutions of the HTDemucs layers: weights from the checkpoint plus the
// geometry (stride, padding, dilation) the kwargs imply.
#pragma once

#include "network/weight_store.h"

#include <ATen/core/Tensor.h>

#include <array>
#include <string>

namespace demucs {

// nn.Conv1d (with bias).
struct Conv1d {
  at::Tensor weight;  // (out, in, kernel)
  at::Tensor bias;    // (out,)
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;

  static Conv1d load(WeightStore& weights, const std::string& prefix, int64_t in, int64_t out, int64_t kernel,
                     int64_t stride = 1, int64_t padding = 0, int64_t dilation = 1);
  at::Tensor operator()(const at::Tensor& x) const;  // (B, in, T) -> (B, out, T')
};

// nn.Conv2d (with bias) over (frequency, time).
struct Conv2d {
  at::Tensor weight;  // (out, in, kernel_f, kernel_t)
  at::Tensor bias;
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};

  static Conv2d load(WeightStore& weights, const std::string& prefix, int64_t in, int64_t out,
                     std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride, std::array<int64_t, 2> padding);
  at::Tensor operator()(const at::Tensor& x) const;  // (B, in, F, T) -> (B, out, F', T')
};

// nn.ConvTranspose1d (with bias), no padding.
struct ConvTranspose1d {
  at::Tensor weight;  // (in, out, kernel)
  at::Tensor bias;
  int64_t stride = 1;

  static ConvTranspose1d load(WeightStore& weights, const std::string& prefix, int64_t in, int64_t out,
                              int64_t kernel, int64_t stride);
  at::Tensor operator()(const at::Tensor& x) const;
};

// nn.ConvTranspose2d (with bias) along frequency only: kernel (k, 1), stride (s, 1).
struct ConvTranspose2d {
  at::Tensor weight;  // (in, out, kernel, 1)
  at::Tensor bias;
  int64_t stride = 1;

  static ConvTranspose2d load(WeightStore& weights, const std::string& prefix, int64_t in, int64_t out,
                              int64_t kernel, int64_t stride);
  at::Tensor operator()(const at::Tensor& x) const;
};

// The "rewrite" convolution of an encoder or decoder layer: channels ->
// 2 * channels with 1 + 2 * context taps (square over frequency and time in
// the frequency branch, as upstream's int kernel size makes it).
struct RewriteConv {
  bool freq = true;
  Conv1d time;
  Conv2d frequency;

  static RewriteConv load(WeightStore& weights, const std::string& prefix, bool freq, int64_t channels,
                          int64_t context);
  at::Tensor operator()(const at::Tensor& x) const { return freq ? frequency(x) : time(x); }
};

}  // namespace demucs
