// DConv: the residual branch of dilated convolutions inside each HTDemucs
// encoder/decoder layer (upstream demucs/demucs.py DConv, eval mode, no
// attention or LSTM), each layer ending in a LayerScale.
#pragma once

#include "network/conv.h"
#include "network/normalization.h"

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace demucs {

class DConv {
 public:
  // `prefix` is e.g. "encoder.0.dconv"; depth and compress from the kwargs.
  static DConv load(WeightStore& weights, const std::string& prefix, int64_t channels, int depth, double compress);

  // x: (N, channels, T), or (B, channels, F, T) where it runs along time
  // once per frequency row. Returns the same shape.
  at::Tensor operator()(const at::Tensor& x) const;

 private:
  struct Layer {
    Conv1d dilated;        // channels -> hidden, kernel 3, dilation 2^d
    GroupNorm norm1;       // GroupNorm(1, hidden)
    Conv1d expand;         // hidden -> 2 * channels, kernel 1
    GroupNorm norm2;       // GroupNorm(1, 2 * channels)
    at::Tensor scale;      // LayerScale, (channels,)
  };
  at::Tensor along_time(at::Tensor x) const;  // (N, channels, T)

  std::vector<Layer> layers_;
};

}  // namespace demucs
