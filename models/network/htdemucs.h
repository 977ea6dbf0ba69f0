// HTDemucs (Demucs v4): the hybrid spectrogram/waveform U-Net with a
// cross-domain transformer, built from a checkpoint's kwargs and state and
// computing what upstream's HTDemucs.forward computes in eval mode.
#pragma once

#include "checkpoint/checkpoint_reader.h"
#include "network/cross_transformer.h"
#include "network/decoder_layer.h"
#include "network/encoder_layer.h"
#include "network/htdemucs_config.h"
#include "network/spectrogram.h"
#include "network/weight_store.h"
#include "separator/segment_model.h"

#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace demucs {

// Receives named intermediate values during a forward pass (names as in
// tests/data's activations reference: "encoder.0", "crosstransformer.1", ...).
using ActivationObserver = std::function<void(const std::string& name, const at::Tensor& value)>;

class HTDemucs : public SegmentModel {
 public:
  // Builds the network of `checkpoint` on `device`. Throws UnsupportedModelError
  // for another model class or unsupported options, StateMismatchError when
  // the state does not fit the kwargs.
  // `precision` other than fp32 runs the network under autocast (see
  // Precision); DeviceUnavailableError when the device cannot run it. On
  // CUDA, TF32 is turned off for convolutions and matrix products (as
  // upstream's float32 numbers need).
  static std::shared_ptr<HTDemucs> from_checkpoint(const Checkpoint& checkpoint, at::Device device,
                                                   Precision precision = Precision::fp32);

  // The architecture `kwargs` describe, with random weights (benchmarks).
  static std::shared_ptr<HTDemucs> with_random_weights(const std::map<std::string, PickleValue>& kwargs,
                                                       at::Device device, uint64_t seed = 0,
                                                       Precision precision = Precision::fp32);

  const HTDemucsConfig& config() const { return config_; }
  const std::string& origin() const { return origin_; }
  // The state as upstream's state_dict() names it: tensor name -> the float32
  // tensor on the model's device that the network computes with (shared, not
  // copied; factors such as emb_scale are not folded in). With the kwargs,
  // what write_checkpoint needs to save this network; random weights included.
  const std::map<std::string, at::Tensor>& state() const { return state_; }
  // Tensors and values of the state (as upstream's state_dict()).
  int64_t tensor_count() const { return tensor_count_; }
  int64_t parameter_count() const { return parameter_count_; }

  const std::vector<std::string>& sources() const override { return config_.sources; }
  int samplerate() const override { return config_.samplerate; }
  int audio_channels() const override { return config_.audio_channels; }
  double segment_seconds() const override { return config_.segment.value(); }
  at::Device device() const override { return device_; }
  Precision precision() const { return precision_; }

  at::Tensor forward(const at::Tensor& mix) override;
  // The same, reporting intermediate values to `observer`.
  at::Tensor forward(const at::Tensor& mix, const ActivationObserver& observer) const;

 private:
  HTDemucs(HTDemucsConfig config, std::string origin, at::Device device, Precision precision);
  static std::shared_ptr<HTDemucs> build(const HTDemucsConfig& config, const std::string& origin, at::Device device,
                                         Precision precision, WeightStore& weights);

  HTDemucsConfig config_;
  std::string origin_;
  at::Device device_;
  Precision precision_;
  Spectrogram spectrogram_;
  std::vector<EncoderLayer> encoder_, tencoder_;
  std::vector<DecoderLayer> decoder_, tdecoder_;
  at::Tensor freq_emb_;  // (freqs, channels), already x emb_scale; undefined when off
  std::optional<Conv1d> channel_upsampler_, channel_downsampler_, channel_upsampler_t_, channel_downsampler_t_;
  std::optional<CrossTransformer> crosstransformer_;
  std::map<std::string, at::Tensor> state_;
  int64_t tensor_count_ = 0;
  int64_t parameter_count_ = 0;
};

}  // namespace demucs
