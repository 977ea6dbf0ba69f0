// One stem of a model as a stream of interleaved stereo audio: the element's
// view of libdemucs, without GStreamer.
//
//   StemStream stream(load_stem_model("htdemucs", "vocals", device), options);
//   stream.push(samples, frames, channels);   // mono is duplicated to stereo
//   std::vector<float> out = stream.pull();   // interleaved stereo, final frames
//   stream.finish();                          // end of stream: everything final
//
// The stem is one source of the model, or (stem "instrumental") the sum of the
// other sources, as upstream's two-stems mode computes it. Not thread-safe.
#pragma once

#include "loading/stem_model.h"
#include "separator/separator_options.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace demucs {

class StreamSeparator;

class StemStream {
 public:
  // Output and model audio channels (every Demucs model is stereo).
  static constexpr int kChannels = 2;

  // options.stems is replaced by the sources the stem needs. Throws
  // std::invalid_argument for bad options (the message names the field) or a
  // model that is not stereo.
  StemStream(const StemModel& model, SeparatorOptions options);
  ~StemStream();
  StemStream(const StemStream&) = delete;
  StemStream& operator=(const StemStream&) = delete;

  // `frames` frames of `channels` (1 or 2) interleaved float samples.
  void push(const float* interleaved, std::int64_t frames, int channels);
  // The frames of the stem final since the last pull, interleaved stereo.
  std::vector<float> pull();
  // End of stream: every pushed frame becomes final. A second call does nothing.
  void finish();
  // Back to a fresh stream with the same model and options.
  void reset();

  bool finished() const;
  int samplerate() const;
  std::int64_t frames_pushed() const;
  std::int64_t frames_pulled() const;
  // Frames that must follow a frame before it is final (the algorithmic latency).
  std::int64_t latency_frames() const;
  // The segment of the separation, in frames.
  std::int64_t segment_frames() const;

 private:
  std::unique_ptr<StreamSeparator> separator_;
  bool sum_sources_ = false;
  std::int64_t segment_frames_ = 0;
  std::vector<float> stereo_;  // mono input duplicated, reused between pushes
};

}  // namespace demucs
