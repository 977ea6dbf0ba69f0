// The separator as a stream: upstream apply_model(model, mix, shifts, split=True,
// overlap, transition_power) computed chunk by chunk as audio arrives, with the
// same float32 numbers, in bounded memory.
//
//   StreamSeparator separator(bag, options);
//   separator.push(piece);             // any number of frames, any number of times
//   at::Tensor done = separator.pull();  // (stems, channels, n): the frames now final
//   separator.finish();                // end of stream: the last (short) chunks run
//   at::Tensor rest = separator.pull();
//
// A frame is final once every chunk that covers it has run. Without the end of
// the stream that takes latency_frames() more frames; at the end, finish() runs
// the last chunks, padded (as upstream's TensorChunk.padded) with the audio
// before them, and every frame becomes final.
//
// Models run on their own device(); input, accumulators and output stay on the
// CPU (as upstream with mix on the CPU and device=cuda). A separator is not
// thread-safe (one thread at a time); separators in several threads may share
// a model (std::shared_ptr) if its forward() is reentrant.
#pragma once

#include "separator/audio_separator.h"
#include "separator/model_bag.h"
#include "separator/separator_options.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace demucs {

class StreamSeparator : public AudioSeparator {
 public:
  // Throws std::invalid_argument for a bad bag or bad options (see
  // validate_separator_options, make_chunk_plan, select_stems). Sets the
  // LibTorch thread count from options.threads.
  StreamSeparator(ModelBag bag, SeparatorOptions options = {});
  StreamSeparator(std::shared_ptr<SegmentModel> model, SeparatorOptions options = {});
  ~StreamSeparator() override;
  StreamSeparator(StreamSeparator&&) noexcept;
  StreamSeparator& operator=(StreamSeparator&&) noexcept;

  // Output stems, in the order of pull()'s first dimension.
  const std::vector<std::string>& stems() const override;
  int channels() const override;
  int samplerate() const override;
  const SeparatorOptions& options() const;

  // Interleaved float samples: frames * channels values. `channels` must be the
  // model's audio channel count (std::invalid_argument otherwise).
  void push_interleaved(const float* samples, std::int64_t frames, int channels) override;
  // Planar (channels, frames) audio, any floating dtype and device.
  void push(const at::Tensor& planar) override;
  // End of stream: runs every remaining chunk. A second call does nothing;
  // push() after it throws std::logic_error.
  void finish() override;
  // The frames final since the last pull: float32 CPU (stems, channels, n).
  at::Tensor pull() override;
  // Back to the state after construction (same options, same shift offsets).
  void reset() override;

  bool finished() const override;
  std::int64_t frames_pushed() const override;
  std::int64_t frames_pulled() const override;
  // Forward calls of the models (one per batch of chunks) since construction,
  // resets included: however many stems are asked for, a chunk runs once.
  std::int64_t forward_calls() const override;
  // Frames pull() would return now.
  std::int64_t frames_ready() const override;

  // The most frames that must be pushed after a frame before it is final
  // (without finish()): max over models of segment - 1 + (batch_size - 1) * stride.
  // Exact without shifts; with shifts an upper bound.
  std::int64_t latency_frames() const override;

  // Frames held: input history (end - oldest frame kept) plus output (from the
  // first frame not pulled to the furthest frame a chunk has reached). Each
  // pass (model x shift) keeps its own accumulator over that output span, so
  // memory is about channels * (input + passes * stems * output) floats.
  std::int64_t buffered_frames() const override;
  // Bound on buffered_frames() whenever pull() has been called after the last
  // push() (or after finish()), whatever the piece sizes and stream length:
  // 2 * segment + 2 * (batch_size - 1) * stride + (segment - 1) / 2 with the
  // largest segment and stride of the bag (input < segment + (batch_size - 1)
  // * stride + (segment - 1) / 2, output < segment + (batch_size - 1) * stride).
  std::int64_t max_buffered_frames() const override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace demucs
