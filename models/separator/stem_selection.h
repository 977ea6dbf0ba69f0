// Which stems the caller wants, and what that means for a bag: the source index
// of each stem, the models that must run (those with a non-zero weight for some
// requested stem; the others would only add 0 * output) and their weights.
#pragma once

#include "separator/model_bag.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace demucs {

struct StemSelection {
  std::vector<std::string> names;           // output stems, in output order
  std::vector<std::int64_t> source_index;   // index of each among the model's sources
  std::vector<std::size_t> running_models;  // bag indices of the models that run, in bag order
  std::vector<std::vector<double>> weights; // [running model][output stem]
  std::vector<double> totals;               // [output stem]: sum of weights over the whole bag
  // One model whose weights are all 1: its output is the estimate (upstream's
  // apply_model on a plain model), without the bag arithmetic.
  bool single_model = false;
};

// stems: empty = every source in the model's order. Throws std::invalid_argument
// for an unknown or repeated stem, or a stem whose weights are all zero.
StemSelection select_stems(const ModelBag& bag, const std::vector<std::string>& stems);

}  // namespace demucs
