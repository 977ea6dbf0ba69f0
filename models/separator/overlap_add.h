// Upstream's `out[..., o:o+l] += weight[:l] * chunk_out; sum_weight[o:o+l] += weight[:l];
// out /= sum_weight` over a stream: the accumulator holds only the open window,
// from the first frame not yet final to the end of the last chunk added.
#pragma once

#include "separator/frame_queue.h"

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace demucs {

class OverlapAdd {
 public:
  // stems x channels per frame; frames before position 0 are discarded.
  OverlapAdd(std::int64_t stems, std::int64_t channels);

  // First frame not yet final.
  std::int64_t begin() const { return begin_; }
  // End of the frames some chunk has reached.
  std::int64_t end() const { return begin_ + sums_.size(); }

  // weighted: float32 CPU (stems, channels, l) = weight[:l] * chunk output,
  // weight: float32 CPU (l), for frames [offset, offset + l). Frames before
  // position 0 are dropped; a chunk may not reach before begin() otherwise.
  void add(std::int64_t offset, const at::Tensor& weighted, const at::Tensor& weight);

  // Frames [begin(), position) divided by their summed weight, (stems, channels,
  // n); they leave the accumulator.
  at::Tensor take_final(std::int64_t position);

 private:
  FrameQueue sums_;     // (stems, channels) per frame
  FrameQueue weights_;  // scalar per frame
  std::int64_t begin_ = 0;
};

}  // namespace demucs
