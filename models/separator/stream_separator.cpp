#include "separator/stream_separator.h"

#include "separator/chunk_pass.h"
#include "separator/chunk_plan.h"
#include "separator/compute_threads.h"
#include "separator/estimate_mix.h"
#include "separator/frame_queue.h"
#include "separator/input_history.h"
#include "separator/shift_schedule.h"
#include "separator/stem_selection.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace demucs {

namespace {

// A chunk whose input is complete, waiting for its batch.
struct DueChunk {
  std::size_t pass = 0;
  ChunkWindow window;
};

// A model of the bag that runs: its chunk plan and one pass per shift.
struct RunningModel {
  std::shared_ptr<SegmentModel> model;
  ChunkPlan plan;
  at::Tensor stem_index;  // int64, on the model's device: the requested sources
  std::vector<ChunkPass> passes;
  std::deque<DueChunk> due;
};

std::string shape_text(at::IntArrayRef sizes) {
  std::ostringstream text;
  text << sizes;
  return text.str();
}

}  // namespace

struct StreamSeparator::State {
  State(ModelBag bag_in, SeparatorOptions options_in);

  void take_due_chunks();
  void run_due_chunks(bool drain);
  void run_batch(RunningModel& running, std::size_t count);
  void combine_final_frames();
  void drop_unneeded_input();

  ModelBag bag;
  SeparatorOptions options;
  StemSelection selection;
  std::vector<RunningModel> models;
  InputHistory input;
  FrameQueue output;  // (stems, channels) per frame: final, not pulled yet
  std::int64_t combined_end = 0;
  std::int64_t pulled = 0;
  bool ended = false;
  std::int64_t forward_calls = 0;  // since the separator was made: reset() carries it over
};

StreamSeparator::State::State(ModelBag bag_in, SeparatorOptions options_in)
    : bag(validated_bag(std::move(bag_in))),
      options(std::move(options_in)),
      input(bag.front().model->audio_channels()),
      output({0, 0}) {
  validate_separator_options(options);
  selection = select_stems(bag, options.stems);
  const auto stems = static_cast<std::int64_t>(selection.names.size());
  const std::int64_t channels = input.channels();
  output = FrameQueue({stems, channels});

  std::vector<ChunkPlan> plans;
  for (const WeightedModel& member : bag) {
    plans.push_back(make_chunk_plan(*member.model, options));  // checks every model's segment
  }
  const std::vector<std::vector<std::int64_t>> delays = shift_delays(bag, options.shifts, options.seed);
  for (const std::size_t index : selection.running_models) {
    RunningModel running;
    running.model = bag[index].model;
    running.plan = plans[index];
    running.stem_index = at::tensor(selection.source_index, at::kLong).to(running.model->device());
    for (const std::int64_t delay : delays[index]) {
      running.passes.emplace_back(running.plan.segment_length, running.plan.stride, delay, stems,
                                  channels);
    }
    models.push_back(std::move(running));
  }
}

void StreamSeparator::State::take_due_chunks() {
  for (RunningModel& running : models) {
    for (std::size_t pass = 0; pass < running.passes.size(); ++pass) {
      const std::vector<ChunkWindow> windows =
          ended ? running.passes[pass].take_remaining_chunks(input.end())
                : running.passes[pass].take_full_chunks(input.end());
      for (const ChunkWindow& window : windows) {
        running.due.push_back(DueChunk{pass, window});
      }
    }
  }
}

void StreamSeparator::State::run_due_chunks(bool drain) {
  const auto batch = static_cast<std::size_t>(options.batch_size);
  for (RunningModel& running : models) {
    while (running.due.size() >= batch) {
      run_batch(running, batch);
    }
    if (drain && !running.due.empty()) {
      run_batch(running, running.due.size());
    }
  }
}

void StreamSeparator::State::run_batch(RunningModel& running, std::size_t count) {
  const ChunkPlan& plan = running.plan;
  std::vector<at::Tensor> inputs;
  inputs.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const DueChunk& chunk = running.due[i];
    inputs.push_back(input.window(running.passes[chunk.pass].input_position(chunk.window),
                                  plan.segment_length));
  }
  const at::Tensor batch = at::stack(inputs).to(running.model->device());
  at::Tensor separated;
  {
    c10::InferenceMode inference;
    separated = running.model->forward(batch);
  }
  ++forward_calls;
  const std::vector<std::int64_t> expected = {
      static_cast<std::int64_t>(count), static_cast<std::int64_t>(running.model->sources().size()),
      input.channels(), plan.segment_length};
  if (!separated.sizes().equals(expected)) {
    throw std::runtime_error("separator: the model returned shape " +
                             shape_text(separated.sizes()) + " for input " +
                             shape_text(batch.sizes()) + ", expected " + shape_text(expected));
  }
  separated = separated.index_select(1, running.stem_index);
  for (std::size_t i = 0; i < count; ++i) {
    const DueChunk& chunk = running.due[i];
    const ChunkWindow& window = chunk.window;
    // center_trim back to the chunk, then upstream's (weight[:l] * chunk_out).to(mix.device).
    const at::Tensor chunk_out =
        separated.select(0, static_cast<std::int64_t>(i)).narrow(-1, window.trim, window.length);
    const at::Tensor weighted = (plan.weight.narrow(0, 0, window.length) * chunk_out).to(at::kCPU);
    running.passes[chunk.pass].add_chunk_output(window, weighted,
                                                plan.weight_cpu.narrow(0, 0, window.length));
  }
  running.due.erase(running.due.begin(), running.due.begin() + static_cast<std::ptrdiff_t>(count));
}

void StreamSeparator::State::combine_final_frames() {
  std::int64_t final_end = std::numeric_limits<std::int64_t>::max();
  for (const RunningModel& running : models) {
    for (const ChunkPass& pass : running.passes) {
      final_end = std::min(final_end, pass.final_end());
    }
  }
  if (final_end <= combined_end) {
    return;
  }
  std::vector<at::Tensor> model_outputs;
  for (RunningModel& running : models) {
    std::vector<at::Tensor> shift_outputs;
    for (ChunkPass& pass : running.passes) {
      shift_outputs.push_back(pass.take_final(final_end));
    }
    model_outputs.push_back(average_shifts(shift_outputs, options.shifts));
  }
  output.append(bag_estimate(model_outputs, selection));
  combined_end = final_end;
}

void StreamSeparator::State::drop_unneeded_input() {
  if (ended) {
    input.release();
    return;
  }
  std::int64_t earliest = input.end();
  for (const RunningModel& running : models) {
    for (const ChunkPass& pass : running.passes) {
      earliest = std::min(earliest, pass.earliest_input_needed());
    }
  }
  input.drop_before(earliest);
}

StreamSeparator::StreamSeparator(ModelBag bag, SeparatorOptions options) {
  const int threads = options.threads;
  state_ = std::make_unique<State>(std::move(bag), std::move(options));
  if (threads >= 0) {
    set_compute_threads(threads);
  }
}

StreamSeparator::StreamSeparator(std::shared_ptr<SegmentModel> model, SeparatorOptions options)
    : StreamSeparator(single_model_bag(std::move(model)), std::move(options)) {}

StreamSeparator::~StreamSeparator() = default;
StreamSeparator::StreamSeparator(StreamSeparator&&) noexcept = default;
StreamSeparator& StreamSeparator::operator=(StreamSeparator&&) noexcept = default;

const std::vector<std::string>& StreamSeparator::stems() const { return state_->selection.names; }
int StreamSeparator::channels() const { return state_->input.channels(); }
int StreamSeparator::samplerate() const { return state_->bag.front().model->samplerate(); }
const SeparatorOptions& StreamSeparator::options() const { return state_->options; }

void StreamSeparator::push_interleaved(const float* samples, std::int64_t frames, int channels) {
  if (channels != this->channels()) {
    throw std::invalid_argument("separator: the model takes " + std::to_string(this->channels()) +
                                " audio channels, got " + std::to_string(channels));
  }
  if (frames < 0 || (frames > 0 && samples == nullptr)) {
    throw std::invalid_argument("separator: no samples for " + std::to_string(frames) + " frames");
  }
  if (frames == 0) {
    push(at::empty({channels, 0}, at::kFloat));
    return;
  }
  // (frames, channels) interleaved viewed as (channels, frames); the history copies it.
  const at::Tensor interleaved =
      at::from_blob(const_cast<float*>(samples), {frames, channels}, at::kFloat);
  push(interleaved.t());
}

void StreamSeparator::push(const at::Tensor& planar) {
  State& state = *state_;
  if (state.ended) {
    throw std::logic_error("separator: push() after finish(); call reset() to start a new stream");
  }
  if (!planar.defined() || planar.dim() != 2 || planar.size(0) != channels()) {
    throw std::invalid_argument(
        "separator: expected planar audio (channels=" + std::to_string(channels()) +
        ", frames), got " + (planar.defined() ? "shape " + shape_text(planar.sizes()) : "no tensor"));
  }
  if (!at::isFloatingType(planar.scalar_type())) {
    throw std::invalid_argument("separator: audio must be floating point samples");
  }
  if (planar.size(1) == 0) {
    return;
  }
  state.input.append(planar.to(at::kCPU, at::kFloat));
  state.take_due_chunks();
  state.run_due_chunks(false);
  state.combine_final_frames();
  state.drop_unneeded_input();
}

void StreamSeparator::finish() {
  State& state = *state_;
  if (state.ended) {
    return;
  }
  state.ended = true;
  state.input.mark_ended();
  state.take_due_chunks();
  state.run_due_chunks(true);
  state.combine_final_frames();
  state.drop_unneeded_input();
}

at::Tensor StreamSeparator::pull() {
  State& state = *state_;
  const std::int64_t count = state.output.size();
  at::Tensor frames = state.output.take_front(count);
  state.pulled += count;
  return frames;
}

void StreamSeparator::reset() {
  const std::int64_t forward_calls = state_->forward_calls;
  state_ = std::make_unique<State>(state_->bag, state_->options);
  state_->forward_calls = forward_calls;
}

bool StreamSeparator::finished() const { return state_->ended; }
std::int64_t StreamSeparator::frames_pushed() const { return state_->input.end(); }
std::int64_t StreamSeparator::frames_pulled() const { return state_->pulled; }
std::int64_t StreamSeparator::forward_calls() const { return state_->forward_calls; }
std::int64_t StreamSeparator::frames_ready() const { return state_->output.size(); }

std::int64_t StreamSeparator::latency_frames() const {
  std::int64_t latency = 0;
  for (const RunningModel& running : state_->models) {
    latency = std::max(latency, running.plan.segment_length - 1 +
                                    (state_->options.batch_size - 1) * running.plan.stride);
  }
  return latency;
}

std::int64_t StreamSeparator::buffered_frames() const {
  const State& state = *state_;
  std::int64_t output_end = state.combined_end;
  for (const RunningModel& running : state.models) {
    for (const ChunkPass& pass : running.passes) {
      output_end = std::max(output_end, pass.accumulated_end());
    }
  }
  return state.input.frames_held() + (output_end - state.pulled);
}

std::int64_t StreamSeparator::max_buffered_frames() const {
  std::int64_t segment = 0;
  std::int64_t stride = 0;
  for (const RunningModel& running : state_->models) {
    segment = std::max(segment, running.plan.segment_length);
    stride = std::max(stride, running.plan.stride);
  }
  const std::int64_t waiting = (state_->options.batch_size - 1) * stride;
  return 2 * segment + 2 * waiting + (segment - 1) / 2;
}

}  // namespace demucs
