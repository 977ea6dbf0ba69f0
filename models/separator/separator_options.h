// The settings of a separation: those of upstream apply_model (overlap, shifts,
// segment, transition_power) and ours (seed, batch size, stems, threads).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace demucs {

struct SeparatorOptions {
  // Fraction of a segment that neighbouring chunks share, in [0, 1).
  double overlap = 0.25;
  // Number of random time shifts averaged (upstream's "shift trick"); 0 = none.
  int shifts = 0;
  // Seed of the shift offsets: the same numbers as `random.seed(seed)` before
  // upstream's apply_model.
  std::uint64_t seed = 0;
  // Segment in seconds; 0 = each model's own. Must not exceed any model's own.
  double segment = 0.0;
  // Number of ready chunks of one model run in one forward call (>= 1). A
  // chunk waits until the batch is full (or the stream ends).
  int batch_size = 1;
  // Sources to output, in this order; empty = all of the model's sources.
  std::vector<std::string> stems;
  // Exponent of the triangle weight (>= 1, as upstream asserts).
  double transition_power = 1.0;
  // LibTorch intra-op threads the separator sets: 0 = all cores, < 0 = leave
  // the current setting.
  int threads = 0;
};

// Throws std::invalid_argument naming the bad field.
void validate_separator_options(const SeparatorOptions& options);

}  // namespace demucs
