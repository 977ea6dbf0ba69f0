// A direct, whole-array port of upstream demucs.apply.apply_model (and of
// TensorChunk, center_trim, BagOfModels), written for clarity and nothing else:
// the streaming separator must give the same numbers.
#pragma once

#include "separator/python_random.h"
#include "separator/segment_model.h"

#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <vector>

namespace demucs::testing {

struct ReferenceBag {
  std::vector<std::shared_ptr<SegmentModel>> models;
  std::vector<std::vector<double>> weights;  // [model][source]
};

struct ReferenceOptions {
  int shifts = 0;
  bool split = true;
  double overlap = 0.25;
  double transition_power = 1.0;
  std::optional<double> segment;  // seconds; empty = the model's own
};

// apply_model(model, mix, ...) with `random` in the role of Python's global
// random module. mix: (batch, channels, length); returns (batch, sources, channels, length).
at::Tensor reference_apply_model(SegmentModel& model, const at::Tensor& mix, PythonRandom& random,
                                 const ReferenceOptions& options);

// apply_model(BagOfModels(models, weights), mix, ...).
at::Tensor reference_apply_bag(const ReferenceBag& bag, const at::Tensor& mix,
                               PythonRandom& random, const ReferenceOptions& options);

}  // namespace demucs::testing
