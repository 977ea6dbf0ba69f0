// What the separator needs from a network: separate one segment of audio.
// HTDemucs implements it; tests implement it with small fake networks.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace demucs {

class SegmentModel {
 public:
  virtual ~SegmentModel() = default;

  virtual const std::vector<std::string>& sources() const = 0;
  virtual int samplerate() const = 0;
  virtual int audio_channels() const = 0;
  // The model's own segment in seconds (kwargs['segment'], e.g. 39/5 for htdemucs).
  virtual double segment_seconds() const = 0;

  // mix: float32 (batch, audio_channels, length) on device(), length <= the
  // model's training length int(segment_seconds() * samplerate()).
  // Returns float32 (batch, sources().size(), audio_channels, length), as
  // upstream's model(mix) in eval mode without gradients.
  virtual at::Tensor forward(const at::Tensor& mix) = 0;

  virtual at::Device device() const = 0;
};

}  // namespace demucs
