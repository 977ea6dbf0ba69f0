#include "separator/separate.h"

#include "separator/stream_separator.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace demucs {

at::Tensor separate(const ModelBag& bag, const at::Tensor& mix, const SeparatorOptions& options) {
  StreamSeparator separator(bag, options);
  if (!mix.defined() || mix.dim() != 2) {
    throw std::invalid_argument("separate: expected a planar (channels, length) mix");
  }
  const std::int64_t length = mix.size(1);
  const auto stems = static_cast<std::int64_t>(separator.stems().size());
  at::Tensor result = at::empty({stems, mix.size(0), length}, at::kFloat);
  std::int64_t written = 0;
  const auto collect = [&]() {
    const at::Tensor frames = separator.pull();
    result.narrow(-1, written, frames.size(-1)).copy_(frames);
    written += frames.size(-1);
  };
  // Pieces of a few strides: each push runs the chunks it completes, and what
  // they finish is copied out right away.
  const std::int64_t piece = std::max<std::int64_t>(separator.latency_frames() + 1, 1);
  for (std::int64_t start = 0; start < length; start += piece) {
    separator.push(mix.narrow(1, start, std::min(piece, length - start)));
    collect();
  }
  separator.finish();
  collect();
  if (written != length) {
    throw std::logic_error("separate: produced " + std::to_string(written) + " frames for " +
                           std::to_string(length));
  }
  return result;
}

at::Tensor separate(std::shared_ptr<SegmentModel> model, const at::Tensor& mix,
                    const SeparatorOptions& options) {
  return separate(single_model_bag(std::move(model)), mix, options);
}

}  // namespace demucs
