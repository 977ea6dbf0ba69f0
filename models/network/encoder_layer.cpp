#include "network/encoder_layer.h"

#include <ATen/ATen.h>

namespace demucs {

EncoderLayer EncoderLayer::load(WeightStore& weights, const std::string& prefix, const BranchLayerSpec& spec,
                                const HTDemucsConfig& config) {
  EncoderLayer layer;
  layer.spec_ = spec;
  layer.norm_groups_ = config.norm_groups;
  const int64_t pad = spec.pad ? spec.kernel_size / 4 : 0;
  if (spec.freq) {
    layer.conv2d_ = Conv2d::load(weights, prefix + ".conv", spec.chin, spec.chout, {spec.kernel_size, 1},
                                 {spec.stride, 1}, {pad, 0});
  } else {
    layer.conv1d_ = Conv1d::load(weights, prefix + ".conv", spec.chin, spec.chout, spec.kernel_size, spec.stride, pad);
  }
  if (spec.empty) {
    return layer;
  }
  layer.norm1_ = GroupNorm::load_if(spec.norm, weights, prefix + ".norm1", config.norm_groups, spec.chout);
  if (config.rewrite) {
    layer.rewrite_ = RewriteConv::load(weights, prefix + ".rewrite", spec.freq, spec.chout, spec.context);
    layer.norm2_ = GroupNorm::load_if(spec.norm, weights, prefix + ".norm2", config.norm_groups, 2 * spec.chout);
  }
  if (spec.dconv) {
    layer.dconv_ = DConv::load(weights, prefix + ".dconv", spec.chout, config.dconv_depth, config.dconv_comp);
  }
  return layer;
}

at::Tensor EncoderLayer::operator()(const at::Tensor& input, const at::Tensor& inject) const {
  at::Tensor x = input;
  at::Tensor y;
  if (spec_.freq) {
    y = conv2d_(x);
  } else {
    const int64_t length = x.size(-1);
    if (length % spec_.stride != 0) {
      x = at::constant_pad_nd(x, {0, spec_.stride - length % spec_.stride});
    }
    y = conv1d_(x);
  }
  if (spec_.empty) {
    return y;
  }
  if (inject.defined()) {
    y = y + (inject.dim() == 3 && y.dim() == 4 ? inject.unsqueeze(2) : inject);
  }
  y = at::gelu(norm1_(y));
  if (dconv_) {
    y = (*dconv_)(y);
  }
  if (!rewrite_) {
    return y;
  }
  const at::Tensor z = (*rewrite_)(y);
  return at::glu(norm2_(z), 1);
}

}  // namespace demucs
