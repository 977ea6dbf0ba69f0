// Where the input stream stands in time, and what the timestamp of the next
// piece of input means for it: continuous, a small hole to fill with silence,
// or a discontinuity that ends the stream and starts a new one there. Knows
// nothing of GStreamer (times are nanoseconds, as GstClockTime).
//
// The rule, as GStreamer's audio elements do it (GstAudioBaseSink and
// GstAudioAggregator's alignment-threshold, audiorate's silence filling):
// - within `alignment` of the expected time: continuous (jitter is ignored,
//   the output stays sample-exact);
// - later by up to `max_filled_gap`: that much silence first. The network sees
//   a short hole as the silence a GAP event gives; the stream goes on with
//   its context, and no drain (a padded extra chunk) is paid;
// - later by more, or earlier: restart. What is buffered is drained up to the
//   hole, and a new stream starts at the new timestamp, so that the output
//   follows the input's timestamps instead of shifting everything after.
#pragma once

#include <cstdint>

namespace demucs {

class InputTimeline {
 public:
  static constexpr std::int64_t kNone = -1;

  struct Step {
    enum class Kind { continuous, fill, restart };
    Kind kind = Kind::continuous;
    std::int64_t silence_frames = 0;  // fill: frames of silence before the input
  };

  InputTimeline(int samplerate, std::int64_t alignment_ns, std::int64_t max_filled_gap_ns);

  // No stream yet: the next timestamp starts one.
  void reset();
  // The next input starts at `timestamp_ns` (kNone: unknown, continuous).
  // Starts the first stream, or applies and returns the step (the silence of
  // a fill is counted; a restart makes `timestamp_ns` the new stream's start).
  Step next(std::int64_t timestamp_ns);
  // `frames` of input (or silence) were queued.
  void advance(std::int64_t frames) { frames_ += frames; }

  bool started() const { return start_ns_ != kNone; }
  // The timestamp of the current stream's first frame (kNone before any).
  std::int64_t stream_start() const { return start_ns_; }
  // Where the next input is expected (kNone before any).
  std::int64_t expected() const;

 private:
  std::int64_t frames_to_ns(std::int64_t frames) const;

  const int samplerate_;
  const std::int64_t alignment_ns_;
  const std::int64_t max_filled_gap_ns_;
  std::int64_t start_ns_ = kNone;
  std::int64_t frames_ = 0;  // frames since start_ns_
};

}  // namespace demucs
