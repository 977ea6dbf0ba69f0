// One decoder layer of either branch (upstream hdemucs.py HDecLayer): adds
// the skip connection, "rewrite" convolution with GLU, DConv residual branch,
// then the transposed convolution back up, cropped to the encoder's length.
#pragma once

#include "network/conv.h"
#include "network/dconv.h"
#include "network/htdemucs_config.h"
#include "network/htdemucs_layout.h"
#include "network/normalization.h"

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <utility>

namespace demucs {

class DecoderLayer {
 public:
  static DecoderLayer load(WeightStore& weights, const std::string& prefix, const BranchLayerSpec& spec,
                           const HTDemucsConfig& config);

  // Returns {output z, pre} where `pre` is the input of the transposed
  // convolution (upstream uses it when the branches separate).
  // `skip` is undefined for an empty layer; `length` is the time length to
  // crop to (time branch only).
  std::pair<at::Tensor, at::Tensor> operator()(const at::Tensor& x, const at::Tensor& skip, int64_t length) const;

  bool empty() const { return spec_.empty; }

 private:
  BranchLayerSpec spec_;
  std::optional<RewriteConv> rewrite_;  // absent when rewrite=False
  GroupNorm norm1_;
  std::optional<DConv> dconv_;
  ConvTranspose1d conv_tr1d_;
  ConvTranspose2d conv_tr2d_;
  GroupNorm norm2_;
};

}  // namespace demucs
