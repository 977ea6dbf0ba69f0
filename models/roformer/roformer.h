// BS-RoFormer and Mel-Band RoFormer (the community checkpoints' networks:
// ZFTurbo Music-Source-Separation-Training models/bs_roformer/), built from a
// RoformerConfig and a state dict, computing what the reference forward
// computes in eval mode: STFT, band split, axial (time then frequency)
// transformers with rotary embeddings, mask estimators, complex masking and
// the inverse STFT.
#pragma once

#include "demucs/demucs.h"  // Precision
#include "roformer/roformer_config.h"
#include "separator/segment_model.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace demucs {

// Receives named intermediate values during a forward pass (names as in the
// fixtures' activations: "band_split_in", "band_split_out",
// "layer0_time_transformer_out", "layer0_freq_transformer_out",
// "mask_estimator_in", "mask_estimator_out", "mask_complex", "istft_in",
// "output").
using RoformerObserver = std::function<void(const std::string& name, const at::Tensor& value)>;

class Roformer : public SegmentModel {
 public:
  // Builds the network `config` describes from `state` (a state_dict as the
  // reference names it; float16/bfloat16 tensors are upcast) on `device`.
  // Throws UnsupportedModelError for settings this implementation cannot run,
  // StateMismatchError naming the first missing, unexpected or misshapen
  // tensor. `origin` (the checkpoint's path) starts every message.
  static std::shared_ptr<Roformer> from_state(const RoformerConfig& config, std::map<std::string, at::Tensor> state,
                                              const std::string& origin, at::Device device,
                                              Precision precision = Precision::fp32);
  // The architecture of `config` with random weights (benchmarks).
  static std::shared_ptr<Roformer> with_random_weights(const RoformerConfig& config, at::Device device,
                                                       std::uint64_t seed = 0, Precision precision = Precision::fp32);
  ~Roformer() override;

  const RoformerConfig& config() const;
  std::int64_t parameter_count() const;

  const std::vector<std::string>& sources() const override;
  int samplerate() const override;
  int audio_channels() const override;
  // chunk_size / samplerate.
  double segment_seconds() const override;
  at::Device device() const override;
  Precision precision() const;

  // mix: float32 (batch, audio_channels, length). Returns float32
  // (batch, sources, audio_channels, n): n = length for BS-RoFormer (and Mel
  // with match_input_audio_length), else (frames - 1) * hop as the reference.
  at::Tensor forward(const at::Tensor& mix) override;
  at::Tensor forward(const at::Tensor& mix, const RoformerObserver& observer) const;

 private:
  struct Network;
  explicit Roformer(std::unique_ptr<Network> network);
  std::unique_ptr<Network> network_;
};

}  // namespace demucs
