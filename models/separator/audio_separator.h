// What every streaming separator offers its callers (StemStream, tests): audio
// pushed in pieces of any size, the frames that are final pulled as they come,
// finish() at the end of the stream. StreamSeparator (upstream Demucs
// apply_model) and DemixSeparator (the RoFormer community's demix) implement it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace demucs {

class AudioSeparator {
 public:
  virtual ~AudioSeparator() = default;

  // Output stems, in the order of pull()'s first dimension.
  virtual const std::vector<std::string>& stems() const = 0;
  virtual int channels() const = 0;
  virtual int samplerate() const = 0;

  // Interleaved float samples: frames * channels values; `channels` must be
  // channels() (std::invalid_argument otherwise).
  virtual void push_interleaved(const float* samples, std::int64_t frames, int channels) = 0;
  // Planar (channels, frames) audio, any floating dtype and device.
  virtual void push(const at::Tensor& planar) = 0;
  // End of stream: every pushed frame becomes final. A second call does
  // nothing; push() after it throws std::logic_error.
  virtual void finish() = 0;
  // The frames final since the last pull: float32 CPU (stems, channels, n).
  virtual at::Tensor pull() = 0;
  // Back to the state after construction (same model and options).
  virtual void reset() = 0;

  virtual bool finished() const = 0;
  virtual std::int64_t frames_pushed() const = 0;
  virtual std::int64_t frames_pulled() const = 0;
  // Forward calls of the network(s) since construction, resets included.
  virtual std::int64_t forward_calls() const = 0;
  // Frames pull() would return now.
  virtual std::int64_t frames_ready() const = 0;
  // The most frames that must be pushed after a frame before it is final
  // (without finish()).
  virtual std::int64_t latency_frames() const = 0;
  // Frames held (input, accumulators, output not pulled yet), and their bound
  // whenever pull() has been called after the last push(), whatever the piece
  // sizes and the stream's length.
  virtual std::int64_t buffered_frames() const = 0;
  virtual std::int64_t max_buffered_frames() const = 0;

 protected:
  AudioSeparator() = default;
  AudioSeparator(const AudioSeparator&) = default;
  AudioSeparator& operator=(const AudioSeparator&) = default;
  AudioSeparator(AudioSeparator&&) = default;
  AudioSeparator& operator=(AudioSeparator&&) = default;
};

}  // namespace demucs
