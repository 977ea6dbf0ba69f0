// The RoFormer community's demix (ZFTurbo Music-Source-Separation-Training
// utils/model_utils.py demix, generic mode) as a stream, with the numbers of
// the reference run with batch_size 1 on the whole song:
//
//   - chunk = options.chunk_size, step = chunk / num_overlap, fade = chunk / 10,
//     border = chunk - step;
//   - a mix longer than 2 * border (border > 0) is reflect-padded by border on
//     both sides; chunks start at 0, step, 2 step, ... while inside the padded mix;
//   - a chunk shorter than chunk is completed by reflection if longer than
//     chunk / 2, else by zeros;
//   - each chunk's output is weighted by a window of linspace fades, without
//     the fade-in on the first chunk, else without the fade-out on the last;
//     result and counter add up in float32, in chunk order; result / counter,
//     NaN -> 0, the padding cut.
//
// A model whose output is shorter than its input (Mel-Band RoFormer without
// match_input_audio_length: (frames - 1) * hop) is taken as zeros after its
// end; the reference would fail there instead, unless the lengths agree.
//
// The stream decides the start padding once 2 * border + 1 frames have arrived
// (or at finish(), for a shorter mix: no padding); the end padding and the
// last chunk's window are known at finish(). Chunks run as soon as their input
// is complete, batch_size of them per forward call (the windows stay those of
// batch 1, so the numbers do not depend on the batch size). Memory: a few
// chunks, whatever the song's length (max_buffered_frames()).
//
// Output rows: options.stems, each a source of the model or "instrumental", the
// mix pushed (unpadded, aligned with the output) minus "vocals".
//
// Not thread-safe; separators in several threads may share a model whose
// forward() is reentrant.
#pragma once

#include "separator/audio_separator.h"
#include "separator/demix_options.h"
#include "separator/segment_model.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace demucs {

class DemixSeparator : public AudioSeparator {
 public:
  // Throws std::invalid_argument for no model or bad options (see
  // validate_demix_options, select_demix_stems). Sets the LibTorch thread
  // count from options.threads.
  DemixSeparator(std::shared_ptr<SegmentModel> model, DemixOptions options = {});
  ~DemixSeparator() override;
  DemixSeparator(DemixSeparator&&) noexcept;
  DemixSeparator& operator=(DemixSeparator&&) noexcept;

  const std::vector<std::string>& stems() const override;
  int channels() const override;
  int samplerate() const override;
  const DemixOptions& options() const;
  // The chunk size in use (options.chunk_size, or the model's segment).
  std::int64_t chunk_frames() const;

  void push_interleaved(const float* samples, std::int64_t frames, int channels) override;
  void push(const at::Tensor& planar) override;
  void finish() override;
  at::Tensor pull() override;
  void reset() override;

  bool finished() const override;
  std::int64_t frames_pushed() const override;
  std::int64_t frames_pulled() const override;
  std::int64_t forward_calls() const override;
  std::int64_t frames_ready() const override;

  // Exact for long streams: border > 0: max(2 * border, chunk - 1 +
  // (batch_size - 1) * step); border 0: chunk + (batch_size - 1) * step.
  std::int64_t latency_frames() const override;
  // Input held + accumulator span + output not pulled.
  std::int64_t buffered_frames() const override;
  // 2 * chunk + (batch_size - 1) * step.
  std::int64_t max_buffered_frames() const override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace demucs
