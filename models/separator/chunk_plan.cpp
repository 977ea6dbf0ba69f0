#include "separator/chunk_plan.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace demucs {

std::int64_t model_segment_frames(int samplerate, double segment_seconds) {
  const double frames = static_cast<double>(samplerate) * segment_seconds;
  const double nearest = std::round(frames);
  if (std::abs(frames - nearest) < 1e-6) {
    return static_cast<std::int64_t>(nearest);
  }
  return static_cast<std::int64_t>(frames);
}

std::int64_t override_segment_frames(int samplerate, double segment_seconds) {
  return static_cast<std::int64_t>(static_cast<double>(samplerate) * segment_seconds);
}

at::Tensor transition_weight(std::int64_t segment_length, double power, at::Device device) {
  const auto integers = at::TensorOptions().dtype(at::kLong).device(device);
  const at::Tensor rising = at::arange(1, segment_length / 2 + 1, integers);
  const at::Tensor falling = at::arange(segment_length - segment_length / 2, 0, -1, integers);
  const at::Tensor triangle = at::cat({rising, falling});
  // int64 / int64 is a true division in the default dtype (float32), as in torch.
  return at::pow(at::div(triangle, triangle.max()), power);
}

ChunkPlan make_chunk_plan(const SegmentModel& model, const SeparatorOptions& options) {
  ChunkPlan plan;
  if (options.segment > 0.0) {
    if (options.segment > model.segment_seconds()) {
      throw std::invalid_argument("separator: segment " + std::to_string(options.segment) +
                                  " s is longer than the model's segment of " +
                                  std::to_string(model.segment_seconds()) +
                                  " s; the network cannot run on more than it was trained on");
    }
    plan.segment_length = override_segment_frames(model.samplerate(), options.segment);
  } else {
    plan.segment_length = model_segment_frames(model.samplerate(), model.segment_seconds());
  }
  if (plan.segment_length < 1) {
    throw std::invalid_argument("separator: the segment is shorter than one frame");
  }
  plan.stride = static_cast<std::int64_t>((1.0 - options.overlap) *
                                          static_cast<double>(plan.segment_length));
  if (plan.stride < 1) {
    throw std::invalid_argument("separator: overlap " + std::to_string(options.overlap) +
                                " leaves no stride between chunks of " +
                                std::to_string(plan.segment_length) + " frames; lower it");
  }
  plan.weight = transition_weight(plan.segment_length, options.transition_power, model.device());
  plan.weight_cpu = plan.weight.to(at::kCPU);
  return plan;
}

ChunkWindow chunk_window(std::int64_t offset, std::int64_t segment_length,
                         std::int64_t stream_length) {
  ChunkWindow window;
  window.offset = offset;
  window.length = std::min(segment_length, stream_length - offset);
  window.trim = (segment_length - window.length) / 2;
  window.input_start = offset - window.trim;
  return window;
}

}  // namespace demucs
