#include "separator/demix_separator.h"

#include "separator/compute_threads.h"
#include "separator/demix_accumulator.h"
#include "separator/demix_plan.h"
#include "separator/demix_stems.h"
#include "separator/frame_queue.h"
#include "separator/padded_input.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <deque>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace demucs {

namespace {

// A chunk whose input is complete, waiting for its batch.
struct DueChunk {
  std::int64_t start = 0;   // padded position
  std::int64_t length = 0;  // frames of the mix in it (< chunk only for the last ones)
  bool first = false;
  bool last = false;
};

std::string shape_text(at::IntArrayRef sizes) {
  std::ostringstream text;
  text << sizes;
  return text.str();
}

// The model's output for one chunk as the reference uses it, x[j, ..., :length],
// with zeros where the output is shorter.
at::Tensor chunk_output(const at::Tensor& output, std::int64_t length) {
  const std::int64_t available = std::min(output.size(-1), length);
  const at::Tensor kept = output.narrow(-1, 0, available);
  if (available == length) {
    return kept;
  }
  return at::constant_pad_nd(kept, {0, length - available}, 0.0);
}

}  // namespace

struct DemixSeparator::State {
  State(std::shared_ptr<SegmentModel> model_in, DemixOptions options_in);

  void advance();
  void take_ready_chunks();
  void run_due_chunks();
  void run_batch(std::size_t count);
  // Padded position before which every chunk has been added.
  std::int64_t final_end() const;
  void emit_final_frames();

  std::shared_ptr<SegmentModel> model;
  DemixOptions options;
  DemixPlan plan;
  DemixStems stems;
  at::Tensor source_index;  // int64 on the model's device: the accumulated sources
  PaddedInput input;
  DemixAccumulator accumulator;
  FrameQueue output;  // (stems, channels) per frame: final, not pulled yet
  std::deque<DueChunk> due;
  std::int64_t next_chunk = 0;  // index of the next chunk to take
  std::int64_t pulled = 0;
  std::int64_t forward_calls = 0;  // since the separator was made: reset() carries it over
};

DemixSeparator::State::State(std::shared_ptr<SegmentModel> model_in, DemixOptions options_in)
    : model(std::move(model_in)),
      options(std::move(options_in)),
      plan(make_demix_plan(demix_chunk_size(options, *model), options.num_overlap)),
      stems(select_demix_stems(model->sources(), options.stems)),
      source_index(at::tensor(stems.sources, at::kLong).to(model->device())),
      input(model->audio_channels(), plan.border),
      accumulator(static_cast<std::int64_t>(stems.sources.size()), model->audio_channels()),
      output({static_cast<std::int64_t>(stems.names.size()), model->audio_channels()}) {}

void DemixSeparator::State::advance() {
  take_ready_chunks();
  run_due_chunks();
  emit_final_frames();
  input.drop_before(final_end());
}

void DemixSeparator::State::take_ready_chunks() {
  if (!input.decided()) {
    return;
  }
  const std::int64_t known = input.known_end();
  for (;; ++next_chunk) {
    DueChunk chunk;
    chunk.start = plan.chunk_start(next_chunk);
    chunk.first = next_chunk == 0;
    if (input.ended()) {
      // known = the padded length: the last chunk is the one after which the next start is past it.
      if (chunk.start >= known) {
        break;
      }
      chunk.length = std::min(plan.chunk, known - chunk.start);
      chunk.last = chunk.start + plan.step >= known;
    } else {
      // Its frames all known, and certainly not the last: the padded length is
      // at least known + border (border > 0), or known + 1 after a frame past it.
      const bool complete = chunk.start + plan.chunk <= known;
      const bool not_last = known + plan.border > chunk.start + plan.step;
      if (!complete || !not_last) {
        break;
      }
      chunk.length = plan.chunk;
    }
    due.push_back(chunk);
  }
}

void DemixSeparator::State::run_due_chunks() {
  const auto batch = static_cast<std::size_t>(options.batch_size);
  while (due.size() >= batch) {
    run_batch(batch);
  }
  if (input.ended() && !due.empty()) {
    run_batch(due.size());
  }
}

void DemixSeparator::State::run_batch(std::size_t count) {
  std::vector<at::Tensor> parts;
  parts.reserve(count);
  for (std::size_t j = 0; j < count; ++j) {
    parts.push_back(pad_last_chunk(input.window(due[j].start, due[j].length), plan.chunk));
  }
  const at::Tensor batch = at::stack(parts).to(model->device());
  at::Tensor separated;
  {
    c10::InferenceMode inference;
    separated = model->forward(batch);
  }
  ++forward_calls;
  if (separated.dim() != 4 || separated.size(0) != static_cast<std::int64_t>(count) ||
      separated.size(1) != static_cast<std::int64_t>(model->sources().size()) ||
      separated.size(2) != input.channels()) {
    throw std::runtime_error("demix: the model returned shape " + shape_text(separated.sizes()) + " for input " +
                             shape_text(batch.sizes()) + ", expected (" + std::to_string(count) + ", " +
                             std::to_string(model->sources().size()) + ", " + std::to_string(input.channels()) +
                             ", frames)");
  }
  // x[j, ..., :length].cpu() (float32: the reference's product with the window is float32).
  separated = separated.index_select(1, source_index).to(at::kCPU, at::kFloat);
  for (std::size_t j = 0; j < count; ++j) {
    const DueChunk& chunk = due[j];
    const at::Tensor out = chunk_output(separated.select(0, static_cast<std::int64_t>(j)), chunk.length);
    const at::Tensor window = plan.chunk_window(chunk.first, chunk.last).narrow(0, 0, chunk.length);
    accumulator.add(chunk.start, out, window);
  }
  due.erase(due.begin(), due.begin() + static_cast<std::ptrdiff_t>(count));
}

std::int64_t DemixSeparator::State::final_end() const {
  if (input.ended()) {
    return input.known_end();
  }
  return due.empty() ? plan.chunk_start(next_chunk) : due.front().start;
}

void DemixSeparator::State::emit_final_frames() {
  if (!input.decided()) {
    return;
  }
  const std::int64_t begin = accumulator.begin();
  const std::int64_t end = final_end();
  if (end <= begin) {
    return;
  }
  const at::Tensor estimate = accumulator.take_final(end);
  // The padding is cut: only the mix's own frames leave.
  const std::int64_t mix_begin = std::max(begin, input.offset());
  const std::int64_t mix_end = std::min(end, input.offset() + input.frames_pushed());
  if (mix_end <= mix_begin) {
    return;
  }
  const at::Tensor frames = estimate.narrow(-1, mix_begin - begin, mix_end - mix_begin);
  std::vector<at::Tensor> rows;
  rows.reserve(stems.names.size());
  for (std::size_t i = 0; i < stems.names.size(); ++i) {
    const at::Tensor row = frames.select(0, stems.row[i]);
    rows.push_back(stems.instrumental[i] != 0 ? input.window(mix_begin, mix_end - mix_begin) - row : row);
  }
  output.append(at::stack(rows));
}

DemixSeparator::DemixSeparator(std::shared_ptr<SegmentModel> model, DemixOptions options) {
  if (!model) {
    throw std::invalid_argument("demix: no model");
  }
  validate_demix_options(options, *model);
  const int threads = options.threads;
  state_ = std::make_unique<State>(std::move(model), std::move(options));
  if (threads >= 0) {
    set_compute_threads(threads);
  }
}

DemixSeparator::~DemixSeparator() = default;
DemixSeparator::DemixSeparator(DemixSeparator&&) noexcept = default;
DemixSeparator& DemixSeparator::operator=(DemixSeparator&&) noexcept = default;

const std::vector<std::string>& DemixSeparator::stems() const { return state_->stems.names; }
int DemixSeparator::channels() const { return state_->input.channels(); }
int DemixSeparator::samplerate() const { return state_->model->samplerate(); }
const DemixOptions& DemixSeparator::options() const { return state_->options; }
std::int64_t DemixSeparator::chunk_frames() const { return state_->plan.chunk; }

void DemixSeparator::push_interleaved(const float* samples, std::int64_t frames, int channels) {
  if (channels != this->channels()) {
    throw std::invalid_argument("demix: the model takes " + std::to_string(this->channels()) +
                                " audio channels, got " + std::to_string(channels));
  }
  if (frames < 0 || (frames > 0 && samples == nullptr)) {
    throw std::invalid_argument("demix: no samples for " + std::to_string(frames) + " frames");
  }
  if (frames == 0) {
    push(at::empty({channels, 0}, at::kFloat));
    return;
  }
  // (frames, channels) interleaved viewed as (channels, frames); the input copies it.
  const at::Tensor interleaved = at::from_blob(const_cast<float*>(samples), {frames, channels}, at::kFloat);
  push(interleaved.t());
}

void DemixSeparator::push(const at::Tensor& planar) {
  State& state = *state_;
  if (state.input.ended()) {
    throw std::logic_error("demix: push() after finish(); call reset() to start a new stream");
  }
  if (!planar.defined() || planar.dim() != 2 || planar.size(0) != channels()) {
    throw std::invalid_argument("demix: expected planar audio (channels=" + std::to_string(channels()) +
                                ", frames), got " +
                                (planar.defined() ? "shape " + shape_text(planar.sizes()) : "no tensor"));
  }
  if (!at::isFloatingType(planar.scalar_type())) {
    throw std::invalid_argument("demix: audio must be floating point samples");
  }
  // A chunk at a time, so that a whole song pushed at once runs in the same
  // bounded memory as a stream.
  const std::int64_t frames = planar.size(1);
  for (std::int64_t begin = 0; begin < frames; begin += state.plan.chunk) {
    const std::int64_t length = std::min(state.plan.chunk, frames - begin);
    state.input.append(planar.narrow(1, begin, length).to(at::kCPU, at::kFloat));
    state.advance();
  }
}

void DemixSeparator::finish() {
  State& state = *state_;
  if (state.input.ended()) {
    return;
  }
  state.input.mark_ended();
  state.advance();
}

at::Tensor DemixSeparator::pull() {
  State& state = *state_;
  const std::int64_t count = state.output.size();
  at::Tensor frames = state.output.take_front(count);
  state.pulled += count;
  return frames;
}

void DemixSeparator::reset() {
  const std::int64_t forward_calls = state_->forward_calls;
  state_ = std::make_unique<State>(state_->model, state_->options);
  state_->forward_calls = forward_calls;
}

bool DemixSeparator::finished() const { return state_->input.ended(); }
std::int64_t DemixSeparator::frames_pushed() const { return state_->input.frames_pushed(); }
std::int64_t DemixSeparator::frames_pulled() const { return state_->pulled; }
std::int64_t DemixSeparator::forward_calls() const { return state_->forward_calls; }
std::int64_t DemixSeparator::frames_ready() const { return state_->output.size(); }

std::int64_t DemixSeparator::latency_frames() const {
  const DemixPlan& plan = state_->plan;
  const std::int64_t waiting = (state_->options.batch_size - 1) * plan.step;
  if (plan.border == 0) {
    return plan.chunk + waiting;
  }
  return std::max(2 * plan.border, plan.chunk - 1 + waiting);
}

std::int64_t DemixSeparator::buffered_frames() const {
  const State& state = *state_;
  return state.input.frames_held() + (state.accumulator.end() - state.accumulator.begin()) + state.output.size();
}

std::int64_t DemixSeparator::max_buffered_frames() const {
  const DemixPlan& plan = state_->plan;
  return 2 * plan.chunk + (state_->options.batch_size - 1) * plan.step;
}

}  // namespace demucs
