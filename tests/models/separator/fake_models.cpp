#include "fake_models.h"

#include <ATen/ATen.h>

#include <stdexcept>
#include <utility>

namespace demucs::testing {

FakeModel::FakeModel(int samplerate, double segment_seconds, int channels,
                     std::vector<std::string> sources)
    : sources_(std::move(sources)),
      samplerate_(samplerate),
      channels_(channels),
      segment_seconds_(segment_seconds) {}

at::Tensor FakeModel::forward(const at::Tensor& mix) {
  if (mix.dim() != 3 || mix.size(1) != channels_ || mix.device() != device_ ||
      mix.scalar_type() != at::kFloat) {
    throw std::invalid_argument("FakeModel: bad input");
  }
  const auto training_length = static_cast<std::int64_t>(samplerate_ * segment_seconds_ + 0.5);
  if (mix.size(2) > training_length) {
    throw std::invalid_argument("FakeModel: input longer than the training length");
  }
  input_shapes_.push_back(mix.sizes().vec());
  return separate(mix);
}

MirrorModel::MirrorModel(int samplerate, double segment_seconds, double gain, int channels,
                         std::vector<std::string> sources)
    : FakeModel(samplerate, segment_seconds, channels, std::move(sources)), gain_(gain) {}

at::Tensor MirrorModel::separate(const at::Tensor& mix) const {
  const std::int64_t length = mix.size(2);
  const at::Tensor mirrored = mix.flip({2});
  const at::Tensor neighbour = mix.roll({-1}, {1});
  const at::Tensor position =
      at::arange(1, length + 1, mix.options()).div(static_cast<double>(length));
  std::vector<at::Tensor> outputs;
  for (std::size_t s = 0; s < sources().size(); ++s) {
    const double scale = static_cast<double>(s + 1);
    outputs.push_back(mix * (scale * gain_) + mirrored * 0.25 + neighbour * 0.1 +
                      position * (0.001 * scale));
  }
  return at::stack(outputs, 1);
}

at::Tensor ScaleModel::separate(const at::Tensor& mix) const {
  const auto sources_count = static_cast<std::int64_t>(sources().size());
  const at::Tensor scale =
      at::arange(1, sources_count + 1, mix.options()).view({1, sources_count, 1, 1});
  return mix.unsqueeze(1) * scale;
}

at::Tensor BrokenModel::separate(const at::Tensor& mix) const {
  return at::zeros({mix.size(0), 1, mix.size(1), mix.size(2) + 1}, mix.options());
}

}  // namespace demucs::testing
