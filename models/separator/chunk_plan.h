// How one model cuts a stream into chunks: upstream apply_model's split branch
// (segment length, stride, triangle weight) and TensorChunk.padded (which
// input frames a chunk sees and which part of the model output is kept).
#pragma once

#include "separator/segment_model.h"
#include "separator/separator_options.h"

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace demucs {

struct ChunkPlan {
  std::int64_t segment_length = 0;  // frames the model sees per chunk
  std::int64_t stride = 0;          // frames between chunk offsets: 0, stride, 2 * stride...
  at::Tensor weight;                // float32 (segment_length) on the model's device
  at::Tensor weight_cpu;            // the same on the CPU (where the weights are summed)
};

// int(samplerate * segment) of a model's own segment, an exact fraction
// upstream (Fraction(39, 5)): a product within 1e-6 of an integer is that integer.
std::int64_t model_segment_frames(int samplerate, double segment_seconds);

// int(samplerate * segment) of a segment given in seconds (a Python float
// upstream): the double product, truncated.
std::int64_t override_segment_frames(int samplerate, double segment_seconds);

// cat(arange(1, n//2 + 1), arange(n - n//2, 0, -1)) / max, ** power, computed
// with the same ATen operations as upstream on `device`.
at::Tensor transition_weight(std::int64_t segment_length, double power, at::Device device);

// The plan of `model` under `options`. Throws std::invalid_argument when the
// segment override exceeds the model's segment or the stride comes out < 1.
ChunkPlan make_chunk_plan(const SegmentModel& model, const SeparatorOptions& options);

// One chunk of a stream (TensorChunk(mix, offset, segment).padded(segment)).
struct ChunkWindow {
  std::int64_t offset = 0;       // first frame of the chunk's output
  std::int64_t length = 0;       // output frames: min(segment, stream length - offset)
  std::int64_t input_start = 0;  // first input frame the model sees: offset - trim
  std::int64_t trim = 0;         // (segment - length) / 2: first kept frame of the model output
};

// The chunk at `offset` of a stream of `stream_length` frames (offset < stream_length).
ChunkWindow chunk_window(std::int64_t offset, std::int64_t segment_length,
                         std::int64_t stream_length);

}  // namespace demucs
