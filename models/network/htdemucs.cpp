#include "network/htdemucs.h"

#include "network/compute_precision.h"
#include "network/compute_runtime.h"
#include "network/htdemucs_layout.h"
#include "network/torch_compat.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <optional>
#include <stdexcept>

namespace demucs {

namespace {

constexpr const char* kHTDemucsClass = "demucs.htdemucs.HTDemucs";

void observe(const ActivationObserver& observer, const std::string& name, const at::Tensor& value) {
  if (observer) {
    observer(name, value);
  }
}

}  // namespace

HTDemucs::HTDemucs(HTDemucsConfig config, std::string origin, at::Device device, Precision precision)
    : config_(std::move(config)),
      origin_(std::move(origin)),
      device_(device),
      precision_(precision),
      spectrogram_(config_.nfft, device) {
  check_precision_on_device(precision, device);
  prepare_compute_runtime(device);
}

std::shared_ptr<HTDemucs> HTDemucs::from_checkpoint(const Checkpoint& checkpoint, at::Device device,
                                                    Precision precision) {
  if (checkpoint.klass != kHTDemucsClass) {
    throw UnsupportedModelError(checkpoint.path + ": the model class is " + checkpoint.klass +
                                "; only HTDemucs (" + kHTDemucsClass + ", Demucs v4) checkpoints are supported");
  }
  const HTDemucsConfig config = HTDemucsConfig::from_kwargs(checkpoint.kwargs, checkpoint.path);
  check_precision_on_device(precision, device);
  prepare_compute_runtime(device);
  WeightStore weights(checkpoint.state, checkpoint.path, device);
  auto model = build(config, checkpoint.path, device, precision, weights);
  weights.expect_all_taken();
  return model;
}

std::shared_ptr<HTDemucs> HTDemucs::with_random_weights(const std::map<std::string, PickleValue>& kwargs,
                                                        at::Device device, uint64_t seed, Precision precision) {
  const HTDemucsConfig config = HTDemucsConfig::from_kwargs(kwargs, "random weights");
  check_precision_on_device(precision, device);
  prepare_compute_runtime(device);
  WeightStore weights = WeightStore::random(seed, device);
  return build(config, "random weights", device, precision, weights);
}

std::shared_ptr<HTDemucs> HTDemucs::build(const HTDemucsConfig& config, const std::string& origin,
                                          at::Device device, Precision precision, WeightStore& weights) {
  const HTDemucsLayout layout = HTDemucsLayout::from_config(config);
  std::shared_ptr<HTDemucs> model(new HTDemucs(config, origin, device, precision));

  for (size_t i = 0; i < layout.encoder.size(); ++i) {
    const std::string n = std::to_string(i);
    model->encoder_.push_back(EncoderLayer::load(weights, "encoder." + n, layout.encoder[i], config));
    model->tencoder_.push_back(EncoderLayer::load(weights, "tencoder." + n, layout.tencoder[i], config));
    model->decoder_.push_back(DecoderLayer::load(weights, "decoder." + n, layout.decoder[i], config));
    model->tdecoder_.push_back(DecoderLayer::load(weights, "tdecoder." + n, layout.tdecoder[i], config));
  }
  if (layout.freq_emb_count > 0) {
    model->freq_emb_ = weights.take("freq_emb.embedding.weight", {layout.freq_emb_count, layout.freq_emb_channels}) *
                       config.emb_scale;
  }
  int64_t transformer_width = layout.bottom_width;
  if (config.bottom_channels > 0) {
    const int64_t bottom = config.bottom_channels;
    model->channel_upsampler_ = Conv1d::load(weights, "channel_upsampler", transformer_width, bottom, 1);
    model->channel_downsampler_ = Conv1d::load(weights, "channel_downsampler", bottom, transformer_width, 1);
    model->channel_upsampler_t_ = Conv1d::load(weights, "channel_upsampler_t", transformer_width, bottom, 1);
    model->channel_downsampler_t_ = Conv1d::load(weights, "channel_downsampler_t", bottom, transformer_width, 1);
    transformer_width = bottom;
  }
  if (config.t_layers > 0) {
    model->crosstransformer_ = CrossTransformer::load(weights, "crosstransformer", config, transformer_width);
  }
  model->state_ = weights.taken();
  model->tensor_count_ = weights.tensors_taken();
  model->parameter_count_ = weights.parameters_taken();
  return model;
}

at::Tensor HTDemucs::forward(const at::Tensor& mix) { return forward(mix, ActivationObserver{}); }

at::Tensor HTDemucs::forward(const at::Tensor& input, const ActivationObserver& observer) const {
  c10::InferenceMode inference;
  const int64_t training_length = config_.training_length();
  if (input.dim() != 3 || input.size(1) != config_.audio_channels) {
    throw std::invalid_argument(origin_ + ": forward expects (batch, " + std::to_string(config_.audio_channels) +
                                ", length) audio");
  }
  const int64_t length = input.size(-1);
  if (length > training_length) {
    throw std::invalid_argument(origin_ + ": given length " + std::to_string(length) +
                                " is longer than the training length " + std::to_string(training_length));
  }
  at::Tensor mix = input.to(device_, at::kFloat);
  if (length < training_length) {
    mix = at::constant_pad_nd(mix, {0, training_length - length});
  }

  // Frequency branch input: the complex spectrogram as channels, normalised.
  const at::Tensor z = spectrogram_.forward(mix);  // (B, C, Fq, T) complex
  observe(observer, "spec.z", at::view_as_real(z));
  const int64_t batch = z.size(0), freqs = z.size(2), frames = z.size(3);
  const at::Tensor mag = at::view_as_real(z).permute({0, 1, 4, 2, 3}).reshape({batch, -1, freqs, frames});
  const at::Tensor mean = mag.mean({1, 2, 3}, /*keepdim=*/true);
  const at::Tensor std = mag.std({1, 2, 3}, /*unbiased=*/true, /*keepdim=*/true);
  at::Tensor x = (mag - mean) / (1e-5 + std);

  // Time branch input: the waveform, normalised.
  const at::Tensor meant = mix.mean({1, 2}, /*keepdim=*/true);
  const at::Tensor stdt = mix.std({1, 2}, /*unbiased=*/true, /*keepdim=*/true);
  at::Tensor xt = (mix - meant) / (1e-5 + stdt);
  observe(observer, "norm.mean", mean);
  observe(observer, "norm.std", std);
  observe(observer, "norm.meant", meant);
  observe(observer, "norm.stdt", stdt);
  observe(observer, "input.freq", x);
  observe(observer, "input.time", xt);

  // Half precision: the layers between the normalised inputs and the outputs
  // run under autocast; the STFT above and the iSTFT and denormalisation
  // below stay float32 (so do the normalisation layers, see normalization.cpp).
  std::optional<torch_compat::AutocastScope> autocast;
  if (precision_ != Precision::fp32) {
    autocast.emplace(device_.type(), compute_dtype(precision_));
  }

  std::vector<at::Tensor> saved, saved_t;
  std::vector<int64_t> lengths, lengths_t;
  for (size_t idx = 0; idx < encoder_.size(); ++idx) {
    const std::string n = std::to_string(idx);
    lengths.push_back(x.size(-1));
    at::Tensor inject;
    if (idx < tencoder_.size()) {
      lengths_t.push_back(xt.size(-1));
      xt = tencoder_[idx](xt);
      observe(observer, "tencoder." + n, xt);
      if (tencoder_[idx].empty()) {
        inject = xt;  // the branches merge here
      } else {
        saved_t.push_back(xt);
      }
    }
    x = encoder_[idx](x, inject);
    observe(observer, "encoder." + n, x);
    if (idx == 0 && freq_emb_.defined()) {
      observe(observer, "freq_emb", freq_emb_);
      x = x + config_.freq_emb * freq_emb_.t().unsqueeze(0).unsqueeze(-1);
    }
    saved.push_back(x);
  }

  if (crosstransformer_) {
    const int64_t c = x.size(1), f = x.size(2), t = x.size(3);
    if (channel_upsampler_) {
      x = (*channel_upsampler_)(x.reshape({batch, c, f * t}));
      observe(observer, "channel_upsampler", x);
      x = x.view({batch, -1, f, t});
      xt = (*channel_upsampler_t_)(xt);
      observe(observer, "channel_upsampler_t", xt);
    }
    observe(observer, "crosstransformer.in.0", x);
    observe(observer, "crosstransformer.in.1", xt);
    std::tie(x, xt) = (*crosstransformer_)(x, xt);
    observe(observer, "crosstransformer.0", x);
    observe(observer, "crosstransformer.1", xt);
    if (channel_downsampler_) {
      x = (*channel_downsampler_)(x.reshape({batch, x.size(1), f * t}));
      observe(observer, "channel_downsampler", x);
      x = x.view({batch, c, f, t});
      xt = (*channel_downsampler_t_)(xt);
      observe(observer, "channel_downsampler_t", xt);
    }
  }

  for (size_t idx = 0; idx < decoder_.size(); ++idx) {
    const std::string n = std::to_string(idx);
    at::Tensor pre;
    std::tie(x, pre) = decoder_[idx](x, saved.back(), lengths.back());
    saved.pop_back();
    lengths.pop_back();
    observe(observer, "decoder." + n + ".0", x);
    observe(observer, "decoder." + n + ".1", pre);

    const DecoderLayer& tdec = tdecoder_[idx];
    const int64_t length_t = lengths_t.back();
    lengths_t.pop_back();
    at::Tensor tpre;
    if (tdec.empty()) {
      std::tie(xt, tpre) = tdec(pre.select(2, 0), at::Tensor(), length_t);
    } else {
      std::tie(xt, tpre) = tdec(xt, saved_t.back(), length_t);
      saved_t.pop_back();
    }
    observe(observer, "tdecoder." + n + ".0", xt);
    observe(observer, "tdecoder." + n + ".1", tpre);
  }

  autocast.reset();
  x = x.to(at::kFloat);
  xt = xt.to(at::kFloat);

  // Frequency branch output: complex spectrogram per source -> waveform.
  const int64_t sources = static_cast<int64_t>(config_.sources.size());
  x = x.view({batch, sources, -1, freqs, frames}) * std.unsqueeze(1) + mean.unsqueeze(1);
  const at::Tensor zout = at::view_as_complex(
      x.view({batch, sources, -1, 2, freqs, frames}).permute({0, 1, 2, 4, 5, 3}).contiguous());
  const at::Tensor wave = spectrogram_.inverse(zout, training_length);
  observe(observer, "wave.freq_branch", wave);

  xt = xt.view({batch, sources, -1, training_length}) * stdt.unsqueeze(1) + meant.unsqueeze(1);
  at::Tensor out = xt + wave;
  if (length < training_length) {
    out = out.slice(-1, 0, length);
  }
  return out;
}

}  // namespace demucs
