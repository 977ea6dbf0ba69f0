#include "network/decoder_layer.h"

#include <ATen/ATen.h>

#include <stdexcept>

namespace demucs {

DecoderLayer DecoderLayer::load(WeightStore& weights, const std::string& prefix, const BranchLayerSpec& spec,
                                const HTDemucsConfig& config) {
  DecoderLayer layer;
  layer.spec_ = spec;
  if (spec.freq) {
    layer.conv_tr2d_ = ConvTranspose2d::load(weights, prefix + ".conv_tr", spec.chin, spec.chout, spec.kernel_size,
                                             spec.stride);
  } else {
    layer.conv_tr1d_ = ConvTranspose1d::load(weights, prefix + ".conv_tr", spec.chin, spec.chout, spec.kernel_size,
                                             spec.stride);
  }
  layer.norm2_ = GroupNorm::load_if(spec.norm, weights, prefix + ".norm2", config.norm_groups, spec.chout);
  if (spec.empty) {
    return layer;
  }
  if (config.rewrite) {
    layer.rewrite_ = RewriteConv::load(weights, prefix + ".rewrite", spec.freq, spec.chin, spec.context);
    layer.norm1_ = GroupNorm::load_if(spec.norm, weights, prefix + ".norm1", config.norm_groups, 2 * spec.chin);
  }
  if (spec.dconv) {
    layer.dconv_ = DConv::load(weights, prefix + ".dconv", spec.chin, config.dconv_depth, config.dconv_comp);
  }
  return layer;
}

std::pair<at::Tensor, at::Tensor> DecoderLayer::operator()(const at::Tensor& input, const at::Tensor& skip,
                                                           int64_t length) const {
  at::Tensor x = input;
  if (spec_.freq && x.dim() == 3) {
    x = x.view({x.size(0), spec_.chin, -1, x.size(2)});
  }
  at::Tensor y;
  if (spec_.empty) {
    y = x;
  } else {
    x = x + skip;
    y = rewrite_ ? at::glu(norm1_((*rewrite_)(x)), 1) : x;
    if (dconv_) {
      y = (*dconv_)(y);
    }
  }
  at::Tensor z = norm2_(spec_.freq ? conv_tr2d_(y) : conv_tr1d_(y));
  const int64_t pad = spec_.pad ? spec_.kernel_size / 4 : 0;
  if (spec_.freq) {
    if (pad > 0) {
      z = z.slice(2, pad, z.size(2) - pad);
    }
  } else {
    z = z.slice(2, pad, pad + length);
    if (z.size(2) != length) {
      throw std::logic_error("decoder layer produced fewer samples than its encoder consumed");
    }
  }
  if (!spec_.last) {
    z = at::gelu(z);
  }
  return {z, y};
}

}  // namespace demucs
