// A bag of models (upstream BagOfModels): every model separates the same
// sources; the estimate of source k is sum_m w[m][k] * out_m[k] / sum_m w[m][k].
#pragma once

#include "separator/segment_model.h"

#include <memory>
#include <vector>

namespace demucs {

struct WeightedModel {
  std::shared_ptr<SegmentModel> model;
  // One weight per source of the model, in its source order; empty = all 1.
  std::vector<double> weights;
};

using ModelBag = std::vector<WeightedModel>;

// A bag of one model with weight 1 for every source: plain apply_model.
ModelBag single_model_bag(std::shared_ptr<SegmentModel> model);

// Checks what upstream asserts (at least one model; same sources, samplerate
// and audio channels; one weight per source) and fills empty weights with 1.
// Throws std::invalid_argument.
ModelBag validated_bag(ModelBag bag);

}  // namespace demucs
