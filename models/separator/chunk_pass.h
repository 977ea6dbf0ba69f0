// One pass of upstream's split branch over the stream, delayed by `delay`
// zero frames (one shift of the shift trick; delay 0 without shifts): which
// chunks are due as input arrives, and the overlap-add of their outputs.
//
// Chunk offsets and windows are in the pass's own (delayed) positions; input
// and output frames in stream positions (= pass position - delay). Output
// frames before stream position 0 (upstream drops them) are never kept, and
// chunks that only cover them are never run.
#pragma once

#include "separator/chunk_plan.h"
#include "separator/overlap_add.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <deque>
#include <vector>

namespace demucs {

class ChunkPass {
 public:
  ChunkPass(std::int64_t segment_length, std::int64_t stride, std::int64_t delay,
            std::int64_t stems, std::int64_t channels);

  std::int64_t delay() const { return delay_; }

  // The chunks whose input is complete once the stream has `input_end` frames
  // (all of them full), in order; they stay pending until their output is added.
  std::vector<ChunkWindow> take_full_chunks(std::int64_t input_end);

  // At the end of a stream of `length` frames: every chunk not taken yet (the
  // last ones short, padded with the audio before them).
  std::vector<ChunkWindow> take_remaining_chunks(std::int64_t length);

  // Stream position of the first input frame `window` reads.
  std::int64_t input_position(const ChunkWindow& window) const {
    return window.input_start - delay_;
  }

  // Adds the output of the oldest pending chunk, which must be `window`:
  // weighted = weight[:l] * chunk output (stems, channels, l), weight (l), CPU.
  void add_chunk_output(const ChunkWindow& window, const at::Tensor& weighted,
                        const at::Tensor& weight);

  // Stream frames before this position are final (no chunk still to add covers them).
  std::int64_t final_end() const;
  // Final frames [taken so far, position) as (stems, channels, n).
  at::Tensor take_final(std::int64_t position) { return accumulator_.take_final(position); }

  // Earliest stream position a chunk still to run may read.
  std::int64_t earliest_input_needed() const;
  // End (stream position) of the frames chunks have reached so far.
  std::int64_t accumulated_end() const { return accumulator_.end(); }
  std::int64_t pending_chunks() const { return static_cast<std::int64_t>(pending_.size()); }

 private:
  bool covers_kept_frames(const ChunkWindow& window) const {
    return window.offset + window.length > delay_;
  }

  std::int64_t segment_length_;
  std::int64_t stride_;
  std::int64_t delay_;
  std::int64_t next_offset_ = 0;   // offset of the next chunk not taken yet
  std::int64_t stream_length_ = -1;  // known at the end of the stream
  std::deque<ChunkWindow> pending_;  // taken, output not added yet
  OverlapAdd accumulator_;
};

}  // namespace demucs
