// The settings of the RoFormer community's demix (ZFTurbo
// Music-Source-Separation-Training utils/model_utils.py demix, generic mode):
// chunk size and overlap from the model's YAML (inference.chunk_size, else
// audio.chunk_size; inference.num_overlap), and ours (batch size, threads, stems).
#pragma once

#include "separator/segment_model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace demucs {

struct DemixOptions {
  // Frames per chunk; 0 = the model's own segment (segment_seconds() * samplerate()).
  std::int64_t chunk_size = 0;
  // Chunks covering each frame: step = chunk_size / num_overlap (integer division).
  int num_overlap = 2;
  // Chunks run in one forward call (>= 1); the numbers stay those of batch 1.
  int batch_size = 1;
  // LibTorch intra-op threads the separator sets: 0 = all cores, < 0 = leave them.
  int threads = 0;
  // Output rows: sources of the model or "instrumental" (the mix minus
  // "vocals"), in this order; empty = every source in the model's order.
  std::vector<std::string> stems;
};

// The chunk size `options` give for `model` (chunk_size, else the model's segment).
std::int64_t demix_chunk_size(const DemixOptions& options, const SegmentModel& model);

// Throws std::invalid_argument naming the bad field: a chunk size below 10 (the
// reference's fade, chunk_size / 10, would be empty), num_overlap outside
// [1, chunk_size], batch_size < 1.
void validate_demix_options(const DemixOptions& options, const SegmentModel& model);

}  // namespace demucs
