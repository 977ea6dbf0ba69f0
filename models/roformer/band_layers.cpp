#include "roformer/band_layers.h"

#include <ATen/ATen.h>

namespace demucs {

BandSplit BandSplit::load(WeightStore& weights, const std::string& prefix, std::int64_t dim,
                          const std::vector<std::int64_t>& band_inputs) {
  BandSplit split;
  split.band_inputs = band_inputs;
  for (size_t band = 0; band < band_inputs.size(); ++band) {
    const std::string name = prefix + "to_features." + std::to_string(band) + ".";
    split.norms.push_back(RmsNorm::load(weights, name + "0.", band_inputs[band]));
    split.to_features.push_back(Linear::load(weights, name + "1.", band_inputs[band], dim));
  }
  return split;
}

at::Tensor BandSplit::operator()(const at::Tensor& x) const {
  const std::vector<at::Tensor> bands = x.split_with_sizes(band_inputs, -1);
  std::vector<at::Tensor> features;
  features.reserve(bands.size());
  for (size_t band = 0; band < bands.size(); ++band) {
    features.push_back(to_features[band](norms[band](bands[band])));
  }
  return at::stack(features, -2);
}

MaskEstimator MaskEstimator::load(WeightStore& weights, const std::string& prefix, std::int64_t dim,
                                  const std::vector<std::int64_t>& band_inputs, std::int64_t layers,
                                  std::int64_t hidden) {
  MaskEstimator estimator;
  estimator.band_inputs = band_inputs;
  for (size_t band = 0; band < band_inputs.size(); ++band) {
    // Sequential(MLP(Linear, Tanh, Linear, ...), GLU): Linear l at MLP index 2 l.
    const std::string name = prefix + "to_freqs." + std::to_string(band) + ".0.";
    std::vector<Linear> mlp;
    for (std::int64_t layer = 0; layer < layers; ++layer) {
      const std::int64_t in = layer == 0 ? dim : hidden;
      const std::int64_t out = layer == layers - 1 ? 2 * band_inputs[band] : hidden;
      mlp.push_back(Linear::load(weights, name + std::to_string(2 * layer) + ".", in, out));
    }
    estimator.band_layers.push_back(std::move(mlp));
  }
  return estimator;
}

at::Tensor MaskEstimator::operator()(const at::Tensor& x) const {
  std::vector<at::Tensor> masks;
  masks.reserve(band_layers.size());
  for (size_t band = 0; band < band_layers.size(); ++band) {
    at::Tensor y = x.select(-2, static_cast<std::int64_t>(band));
    const auto& mlp = band_layers[band];
    for (size_t layer = 0; layer < mlp.size(); ++layer) {
      y = mlp[layer](y);
      if (layer + 1 < mlp.size()) {
        y = y.tanh();
      }
    }
    masks.push_back(at::glu(y, -1));
  }
  return at::cat(masks, -1);
}

}  // namespace demucs
