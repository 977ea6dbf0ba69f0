// The recent input of a stream, in stream frame positions: what the chunks
// still to run may read (their own frames and, for the last short chunks, the
// audio before them). Older frames are dropped.
#pragma once

#include "separator/frame_queue.h"

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace demucs {

class InputHistory {
 public:
  explicit InputHistory(int channels);

  int channels() const { return channels_; }
  // Position of the oldest frame held.
  std::int64_t begin() const { return begin_; }
  // Number of frames pushed so far (position after the newest).
  std::int64_t end() const { return begin_ + frames_.size(); }
  std::int64_t frames_held() const { return frames_.size(); }

  // planar: float32 CPU (channels, n).
  void append(const at::Tensor& planar);

  // (channels, length) float32: frames [start, start + length), zero before
  // position 0 and, once the stream has ended, at and after its end. Throws
  // std::logic_error for frames already dropped or, before the end, not yet pushed.
  at::Tensor window(std::int64_t start, std::int64_t length) const;

  // Drops the frames before `position`.
  void drop_before(std::int64_t position);

  // The stream has ended: frames after end() read as zeros from now on.
  void mark_ended() { ended_ = true; }
  bool ended() const { return ended_; }
  // Drops every frame (end() is kept).
  void release();

 private:
  int channels_;
  FrameQueue frames_;
  std::int64_t begin_ = 0;
  bool ended_ = false;
};

}  // namespace demucs
