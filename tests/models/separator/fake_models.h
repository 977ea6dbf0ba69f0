// Small exact SegmentModels for the separator tests: cheap, but their output
// depends on each frame's position in the segment and on other frames of the
// segment, so that a wrong offset, padding, trim or weight changes the result.
#pragma once

#include "separator/segment_model.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace demucs::testing {

// Sources "drums", "bass", "other", "vocals" unless given.
class FakeModel : public SegmentModel {
 public:
  FakeModel(int samplerate, double segment_seconds, int channels = 2,
            std::vector<std::string> sources = {"drums", "bass", "other", "vocals"});

  const std::vector<std::string>& sources() const override { return sources_; }
  int samplerate() const override { return samplerate_; }
  int audio_channels() const override { return channels_; }
  double segment_seconds() const override { return segment_seconds_; }
  at::Device device() const override { return device_; }
  at::Tensor forward(const at::Tensor& mix) override;

  void set_device(at::Device device) { device_ = device; }

  // Calls so far and the shape of every input.
  int calls() const { return static_cast<int>(input_shapes_.size()); }
  const std::vector<std::vector<std::int64_t>>& input_shapes() const { return input_shapes_; }

 protected:
  // (batch, channels, length) -> (batch, sources, channels, length).
  virtual at::Tensor separate(const at::Tensor& mix) const = 0;

 private:
  std::vector<std::string> sources_;
  int samplerate_;
  int channels_;
  double segment_seconds_;
  at::Device device_ = at::kCPU;
  std::vector<std::vector<std::int64_t>> input_shapes_;
};

// out[b, s, c, t] = x[b, c, t] * (s + 1) * gain + 0.25 * x[b, c, T-1-t]
//                   + 0.1 * x[b, c+1 mod C, t] + 0.001 * (s + 1) * (t + 1) / T
// The mirrored term makes the left-context padding of the last chunk visible.
class MirrorModel : public FakeModel {
 public:
  MirrorModel(int samplerate, double segment_seconds, double gain = 1.0, int channels = 2,
              std::vector<std::string> sources = {"drums", "bass", "other", "vocals"});

 protected:
  at::Tensor separate(const at::Tensor& mix) const override;

 private:
  double gain_;
};

// out[b, s, c, t] = x[b, c, t] * (s + 1): as cheap as a model can be.
class ScaleModel : public FakeModel {
 public:
  using FakeModel::FakeModel;

 protected:
  at::Tensor separate(const at::Tensor& mix) const override;
};

// Returns a tensor of the wrong shape (for the error test).
class BrokenModel : public FakeModel {
 public:
  using FakeModel::FakeModel;

 protected:
  at::Tensor separate(const at::Tensor& mix) const override;
};

}  // namespace demucs::testing
