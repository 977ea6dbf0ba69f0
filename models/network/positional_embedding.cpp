#include "network/positional_embedding.h"

#include <ATen/ATen.h>

#include <cmath>

namespace demucs {

namespace {

// phase = pos / max_period ** (i / (dim/2 - 1)); returns cat([cos, sin], -1).
at::Tensor sinusoid(const at::Tensor& positions, int64_t dim, double max_period) {
  const int64_t half = dim / 2;
  const at::Tensor index = at::arange(half, positions.options().dtype(at::kLong)).view({1, 1, -1});
  const at::Tensor exponent = index / static_cast<double>(half - 1);
  const at::Tensor phase = positions / at::pow(max_period, exponent);
  return at::cat({at::cos(phase), at::sin(phase)}, -1);
}

}  // namespace

at::Tensor sin_embedding(int64_t length, int64_t dim, double max_period, at::Device device) {
  const at::Tensor positions = at::arange(length, at::TensorOptions().dtype(at::kLong).device(device)).view({-1, 1, 1});
  return sinusoid(positions, dim, max_period).to(at::kFloat);
}

at::Tensor cape_embedding(int64_t length, int64_t dim, bool mean_normalize, double max_period, at::Device device) {
  at::Tensor positions = at::arange(length, at::TensorOptions().dtype(at::kFloat).device(device)).view({-1, 1, 1});
  if (mean_normalize) {
    positions = positions - positions.mean(0, /*keepdim=*/true);
  }
  return sinusoid(positions, dim, max_period).to(at::kFloat);
}

at::Tensor sin_embedding_2d(int64_t dim, int64_t height, int64_t width, double max_period, at::Device device) {
  const auto options = at::TensorOptions().dtype(at::kFloat).device(device);
  at::Tensor pe = at::zeros({dim, height, width}, options);
  const int64_t half = dim / 2;
  const at::Tensor div_term = at::exp(at::arange(0.0, static_cast<double>(half), 2.0, options) *
                                      -(std::log(max_period) / static_cast<double>(half)));
  const at::Tensor pos_w = at::arange(0.0, static_cast<double>(width), options).unsqueeze(1);
  const at::Tensor pos_h = at::arange(0.0, static_cast<double>(height), options).unsqueeze(1);
  // Even channels of the first half: sin over width; odd: cos over width.
  // Second half: the same over height.
  const at::Tensor w_phase = (pos_w * div_term).transpose(0, 1).unsqueeze(1);  // (half/2, 1, width)
  const at::Tensor h_phase = (pos_h * div_term).transpose(0, 1).unsqueeze(2);  // (half/2, height, 1)
  pe.slice(0, 0, half, 2).copy_(at::sin(w_phase).expand({-1, height, width}));
  pe.slice(0, 1, half, 2).copy_(at::cos(w_phase).expand({-1, height, width}));
  pe.slice(0, half, dim, 2).copy_(at::sin(h_phase).expand({-1, height, width}));
  pe.slice(0, half + 1, dim, 2).copy_(at::cos(h_phase).expand({-1, height, width}));
  return pe.unsqueeze(0);
}

}  // namespace demucs
