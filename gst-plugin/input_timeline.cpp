#include "gst-plugin/input_timeline.h"

namespace demucs {

namespace {

constexpr std::int64_t kSecondNs = 1000000000;

}  // namespace

InputTimeline::InputTimeline(int samplerate, std::int64_t alignment_ns, std::int64_t max_filled_gap_ns)
    : samplerate_(samplerate), alignment_ns_(alignment_ns), max_filled_gap_ns_(max_filled_gap_ns) {}

void InputTimeline::reset() {
  start_ns_ = kNone;
  frames_ = 0;
}

std::int64_t InputTimeline::frames_to_ns(std::int64_t frames) const {
  // frames * 1e9 / rate without overflow for any stream shorter than centuries.
  return frames / samplerate_ * kSecondNs + frames % samplerate_ * kSecondNs / samplerate_;
}

std::int64_t InputTimeline::expected() const {
  return started() ? start_ns_ + frames_to_ns(frames_) : kNone;
}

InputTimeline::Step InputTimeline::next(std::int64_t timestamp_ns) {
  Step step;
  if (!started()) {
    start_ns_ = timestamp_ns == kNone ? 0 : timestamp_ns;
    frames_ = 0;
    return step;
  }
  if (timestamp_ns == kNone) {
    return step;
  }
  const std::int64_t drift = timestamp_ns - expected();
  if (drift >= -alignment_ns_ && drift <= alignment_ns_) {
    return step;
  }
  if (drift > 0 && drift <= max_filled_gap_ns_) {
    step.kind = Step::Kind::fill;
    // Rounded to the nearest frame, as audiorate counts them.
    step.silence_frames = (drift * samplerate_ + kSecondNs / 2) / kSecondNs;
    frames_ += step.silence_frames;
    return step;
  }
  step.kind = Step::Kind::restart;
  start_ns_ = timestamp_ns;
  frames_ = 0;
  return step;
}

}  // namespace demucs
