// One encoder layer of either branch (upstream hdemucs.py HEncLayer): strided
// convolution, optional injection of the time branch, norm + GELU, DConv
// residual branch, and the 1x1 (or context) "rewrite" convolution with GLU.
#pragma once

#include "network/conv.h"
#include "network/dconv.h"
#include "network/htdemucs_config.h"
#include "network/htdemucs_layout.h"
#include "network/normalization.h"

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>

namespace demucs {

class EncoderLayer {
 public:
  static EncoderLayer load(WeightStore& weights, const std::string& prefix, const BranchLayerSpec& spec,
                           const HTDemucsConfig& config);

  // Frequency layer: (B, chin, F, T) -> (B, chout, F / stride, T).
  // Time layer: (B, chin, L) -> (B, chout, ceil(L / stride)).
  // `inject` (B, chout, T) is added after the first convolution (branch merge).
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& inject = {}) const;

  bool empty() const { return spec_.empty; }

 private:
  BranchLayerSpec spec_;
  int64_t norm_groups_ = 1;
  Conv1d conv1d_;  // time branch
  Conv2d conv2d_;  // frequency branch
  GroupNorm norm1_;
  std::optional<RewriteConv> rewrite_;  // absent when rewrite=False
  GroupNorm norm2_;
  std::optional<DConv> dconv_;
};

}  // namespace demucs
