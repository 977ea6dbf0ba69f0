// The recent input of a demix stream in padded coordinates (see demix_plan.h):
// the reference reflect-pads the whole mix by `border` when it is longer than
// 2 * border. A stream knows that once 2 * border + 1 frames have arrived (and
// then puts the start's reflection in front), or at its end (then it is not
// padded); the end's reflection is known only at the end. Until the decision
// every frame is kept; after it, frames no longer needed are dropped.
#pragma once

#include "separator/frame_queue.h"

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace demucs {

class PaddedInput {
 public:
  PaddedInput(int channels, std::int64_t border);

  int channels() const { return channels_; }
  // Mix frames pushed so far.
  std::int64_t frames_pushed() const { return pushed_; }
  // Whether the padding is known yet (always once ended).
  bool decided() const { return decided_; }
  bool padded() const { return padded_; }
  // Padded position of mix frame 0: border when padded, else 0.
  std::int64_t offset() const { return padded_ ? border_ : 0; }
  // End of the padded frames known: once decided, offset + pushed, and at the
  // end the whole padded length.
  std::int64_t known_end() const { return begin_ + frames_.size(); }
  bool ended() const { return ended_; }
  std::int64_t frames_held() const { return frames_.size(); }

  // planar: float32 CPU (channels, n).
  void append(const at::Tensor& planar);
  // End of stream: decides the padding if not yet and appends the end's reflection.
  void mark_ended();

  // (channels, length): padded frames [start, start + length), all known and held.
  at::Tensor window(std::int64_t start, std::int64_t length) const;
  // Drops the padded frames before `position`, keeping what the end's
  // reflection will need (the last border + 1 mix frames) until the end.
  void drop_before(std::int64_t position);

 private:
  void decide(bool pad);

  int channels_;
  std::int64_t border_;
  FrameQueue frames_;
  std::int64_t begin_ = 0;  // padded position of frames_'s front
  std::int64_t pushed_ = 0;
  bool decided_ = false;
  bool padded_ = false;
  bool ended_ = false;
};

}  // namespace demucs
