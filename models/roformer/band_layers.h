// The two ends of a RoFormer: the band split (each band's bins, RMSNorm,
// Linear to `dim` features) and the mask estimator (per band an MLP with
// Tanh between its layers, then a GLU, back to the band's bins). Both as in
// the reference's BandSplit and MaskEstimator.
#pragma once

#include "roformer/roformer_layers.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace demucs {

struct BandSplit {
  std::vector<std::int64_t> band_inputs;  // values per band (2 * channels * 2 * bins)
  std::vector<RmsNorm> norms;
  std::vector<Linear> to_features;

  static BandSplit load(WeightStore& weights, const std::string& prefix, std::int64_t dim,
                        const std::vector<std::int64_t>& band_inputs);
  // (batch, frames, sum(band_inputs)) -> (batch, frames, bands, dim)
  at::Tensor operator()(const at::Tensor& x) const;
};

struct MaskEstimator {
  std::vector<std::int64_t> band_inputs;
  std::vector<std::vector<Linear>> band_layers;  // per band, the MLP's Linear layers

  // `layers` Linear layers per band: dim -> hidden ... -> 2 * band input.
  static MaskEstimator load(WeightStore& weights, const std::string& prefix, std::int64_t dim,
                            const std::vector<std::int64_t>& band_inputs, std::int64_t layers, std::int64_t hidden);
  // (batch, frames, bands, dim) -> (batch, frames, sum(band_inputs))
  at::Tensor operator()(const at::Tensor& x) const;
};

}  // namespace demucs
