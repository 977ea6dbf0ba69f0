#include "roformer/roformer.h"

#include "network/compute_precision.h"
#include "network/compute_runtime.h"
#include "network/torch_compat.h"
#include "network/weight_store.h"
#include "roformer/band_layers.h"
#include "roformer/mel_bands.h"
#include "roformer/roformer_layers.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <optional>
#include <string>

namespace demucs {

namespace {

// The transformers of one of the `depth` layers: an optional linear-attention
// one over every (frame, band), then time (over frames, per band), then
// frequency (over bands, per frame).
struct AxialLayer {
  std::optional<Transformer> linear;
  Transformer time;
  Transformer frequency;
};

std::string layer_prefix(std::int64_t layer, std::int64_t module) {
  return "layers." + std::to_string(layer) + "." + std::to_string(module) + ".";
}

}  // namespace

struct Roformer::Network {
  RoformerConfig config;
  std::string origin;
  at::Device device = at::kCPU;
  Precision precision = Precision::fp32;
  std::int64_t parameters = 0;

  at::Tensor window;        // hann_window(stft_win_length), periodic
  at::Tensor band_rows;     // mel: rows of the (bins * channels) axis, band after band
  at::Tensor bands_per_row; // mel: (bins * channels, 1) float, bands covering each row
  BandSplit band_split;
  std::vector<AxialLayer> layers;
  std::optional<RmsNorm> final_norm;  // BS-RoFormer only
  std::vector<MaskEstimator> mask_estimators;

  void build(WeightStore& weights);
  void set_mel_rows(const MelBands& bands);
  at::Tensor forward(const at::Tensor& mix, const RoformerObserver* observer) const;
  at::Tensor spectrogram(const at::Tensor& mix) const;
  at::Tensor band_input(const at::Tensor& spec) const;
  at::Tensor transform(at::Tensor x, const RoformerObserver* observer) const;
  at::Tensor complex_masks(const at::Tensor& features, const RoformerObserver* observer) const;
  at::Tensor waveforms(const at::Tensor& masked, std::int64_t length) const;
};

namespace {

void observe(const RoformerObserver* observer, const char* name, const at::Tensor& value) {
  if (observer != nullptr) {
    (*observer)(name, value);
  }
}

std::int64_t bins_of(const RoformerConfig& config) { return config.stft_n_fft / 2 + 1; }

// Values per band at the band split's input: bins x channels x (re, im).
std::vector<std::int64_t> band_inputs(const std::vector<std::int64_t>& bins_per_band, int channels) {
  std::vector<std::int64_t> inputs;
  for (std::int64_t bins : bins_per_band) {
    inputs.push_back(2 * bins * channels);
  }
  return inputs;
}

void check_supported(const RoformerConfig& config, const std::string& origin) {
  const auto fail = [&](const std::string& what) {
    const char* type = config.kind == RoformerKind::band_split ? "bs_roformer" : "mel_band_roformer";
    throw UnsupportedModelError(origin + ": " + type + " " + what);
  };
  if (config.dim <= 0 || config.depth <= 0 || config.heads <= 0 || config.dim_head <= 0 || config.dim_head % 2 != 0) {
    fail("needs positive dim, depth, heads and an even dim_head");
  }
  if (config.num_stems < 1 || static_cast<std::int64_t>(config.sources.size()) != config.num_stems) {
    fail("has num_stems " + std::to_string(config.num_stems) + " but " + std::to_string(config.sources.size()) +
         " named sources");
  }
  if (config.stft_n_fft <= 0 || config.stft_hop_length <= 0 || config.stft_win_length <= 0 ||
      config.stft_win_length > config.stft_n_fft) {
    fail("needs stft_n_fft >= stft_win_length > 0 and stft_hop_length > 0");
  }
  if (config.mask_estimator_depth < 1 || config.mlp_expansion_factor < 1) {
    fail("needs mask_estimator_depth >= 1 and mlp_expansion_factor >= 1");
  }
  if (config.kind == RoformerKind::band_split) {
    std::int64_t total = 0;
    for (std::int64_t bins : config.freqs_per_bands) {
      if (bins <= 0) {
        fail("freqs_per_bands has a band of " + std::to_string(bins) + " bins");
      }
      total += bins;
    }
    if (config.freqs_per_bands.size() < 2 || total != bins_of(config)) {
      fail("freqs_per_bands covers " + std::to_string(total) + " bins in " +
           std::to_string(config.freqs_per_bands.size()) + " bands; stft_n_fft " +
           std::to_string(config.stft_n_fft) + " gives " + std::to_string(bins_of(config)) + " (at least 2 bands)");
    }
  }
}

// Mel bands as rows of the stereo-interleaved (bins * channels) axis: each
// bin f becomes rows f * channels + s (the reference's freq_indices).
}  // namespace

void Roformer::Network::set_mel_rows(const MelBands& bands) {
  const int channels = config.audio_channels();
  std::vector<std::int64_t> rows;
  for (std::int64_t bin : bands.band_bins) {
    for (int s = 0; s < channels; ++s) {
      rows.push_back(bin * channels + s);
    }
  }
  std::vector<float> counts;
  for (std::int64_t count : bands.bands_per_bin) {
    for (int s = 0; s < channels; ++s) {
      counts.push_back(static_cast<float>(count));
    }
  }
  band_rows = at::tensor(rows, at::kLong).to(device);
  bands_per_row = at::tensor(counts, at::kFloat).view({-1, 1}).to(device);
}

void Roformer::Network::build(WeightStore& weights) {
  const bool mel = config.kind == RoformerKind::mel_band;
  const int channels = config.audio_channels();
  std::vector<std::int64_t> bins_per_band = config.freqs_per_bands;
  if (mel) {
    const MelBands bands = mel_bands(config.mel_sample_rate, config.stft_n_fft, config.num_bands);
    set_mel_rows(bands);
    bins_per_band = bands.bins_per_band;
  }
  const std::vector<std::int64_t> inputs = band_inputs(bins_per_band, channels);
  TransformerShape shape{config.dim, 0, config.heads, config.dim_head, false, /*norm_output=*/mel};
  for (std::int64_t i = 0; i < config.depth; ++i) {
    std::int64_t module = 0;
    AxialLayer layer;
    if (config.linear_transformer_depth > 0) {
      TransformerShape linear = shape;
      linear.depth = config.linear_transformer_depth;
      linear.linear_attention = true;
      layer.linear = Transformer::load(weights, layer_prefix(i, module++), linear);
    }
    TransformerShape time = shape, frequency = shape;
    time.depth = config.time_transformer_depth;
    frequency.depth = config.freq_transformer_depth;
    layer.time = Transformer::load(weights, layer_prefix(i, module++), time);
    layer.frequency = Transformer::load(weights, layer_prefix(i, module++), frequency);
    layers.push_back(std::move(layer));
  }
  if (!mel) {
    final_norm = RmsNorm::load(weights, "final_norm.", config.dim);
  }
  band_split = BandSplit::load(weights, "band_split.", config.dim, inputs);
  // The reference's MLP: BS-RoFormer has mask_estimator_depth Linear layers,
  // Mel-Band RoFormer one more.
  const std::int64_t mlp_layers = config.mask_estimator_depth + (mel ? 1 : 0);
  for (std::int64_t stem = 0; stem < config.num_stems; ++stem) {
    mask_estimators.push_back(MaskEstimator::load(weights, "mask_estimators." + std::to_string(stem) + ".",
                                                          config.dim, inputs, mlp_layers,
                                                          config.dim * config.mlp_expansion_factor));
  }
  window = at::hann_window(config.stft_win_length, at::TensorOptions().dtype(at::kFloat).device(device));
  parameters = weights.parameters_taken();
}

// --- forward ------------------------------------------------------------------

// (batch, channels, length) -> (batch, bins * channels, frames, 2): the STFT
// with the channels interleaved per bin (row f * channels + s), (re, im) last.
at::Tensor Roformer::Network::spectrogram(const at::Tensor& mix) const {
  const std::int64_t batch = mix.size(0), channels = mix.size(1);
  const at::Tensor flat = mix.reshape({batch * channels, mix.size(2)});
  const at::Tensor spec =
      at::view_as_real(at::stft(flat, config.stft_n_fft, config.stft_hop_length, config.stft_win_length, window,
                                /*center=*/true, "reflect", config.stft_normalized, /*onesided=*/true,
                                /*return_complex=*/true));
  const std::int64_t bins = spec.size(1), frames = spec.size(2);
  return spec.view({batch, channels, bins, frames, 2}).permute({0, 2, 1, 3, 4}).reshape(
      {batch, bins * channels, frames, 2});
}

// The band split's input, (batch, frames, values): every row of every band
// with its (re, im) pair.
at::Tensor Roformer::Network::band_input(const at::Tensor& spec) const {
  const at::Tensor rows = band_rows.defined() ? spec.index_select(1, band_rows) : spec;
  return rows.permute({0, 2, 1, 3}).reshape({spec.size(0), spec.size(2), -1});
}

at::Tensor Roformer::Network::transform(at::Tensor x, const RoformerObserver* observer) const {
  const std::int64_t batch = x.size(0), frames = x.size(1), bands = x.size(2), dim = x.size(3);
  std::vector<at::Tensor> outputs;  // skip_connection: every earlier layer's output
  for (size_t i = 0; i < layers.size(); ++i) {
    const AxialLayer& layer = layers[i];
    if (layer.linear) {
      x = (*layer.linear)(x.reshape({batch, frames * bands, dim})).view({batch, frames, bands, dim});
    }
    if (config.skip_connection) {
      for (const at::Tensor& earlier : outputs) {
        x = x + earlier;
      }
    }
    // Time: a sequence of frames for each band.
    x = x.permute({0, 2, 1, 3}).reshape({batch * bands, frames, dim});
    x = layer.time(x);
    if (i == 0) {
      observe(observer, "layer0_time_transformer_out", x);
    }
    // Frequency: a sequence of bands for each frame.
    x = x.view({batch, bands, frames, dim}).permute({0, 2, 1, 3}).reshape({batch * frames, bands, dim});
    x = layer.frequency(x);
    if (i == 0) {
      observe(observer, "layer0_freq_transformer_out", x);
    }
    x = x.view({batch, frames, bands, dim});
    if (config.skip_connection) {
      outputs.push_back(x);
    }
  }
  return final_norm ? (*final_norm)(x) : x;
}

// Features -> per stem a complex mask over the (bins * channels) rows:
// (batch, stems, rows, frames, 2).
at::Tensor Roformer::Network::complex_masks(const at::Tensor& features, const RoformerObserver* observer) const {
  std::vector<at::Tensor> masks;
  for (const MaskEstimator& estimator : mask_estimators) {
    masks.push_back(estimator(features));
    if (masks.size() == 1) {
      observe(observer, "mask_estimator_out", masks.front());
    }
  }
  const at::Tensor stacked = at::stack(masks, 1).to(at::kFloat);  // (b, n, t, values)
  const std::int64_t batch = stacked.size(0), stems = stacked.size(1), frames = stacked.size(2);
  // 'b n t (f c) -> b n f t c'
  at::Tensor mask = stacked.view({batch, stems, frames, -1, 2}).permute({0, 1, 3, 2, 4});
  if (band_rows.defined()) {
    // Overlapping mel bands: each row gets the mean of the masks of the bands
    // that cover it.
    const std::int64_t rows = bands_per_row.size(0);
    at::Tensor summed = at::zeros({batch, stems, rows, frames, 2}, mask.options());
    summed.index_add_(2, band_rows, mask);
    mask = summed / bands_per_row.view({rows, 1, 1}).clamp_min(1e-8);
  }
  observe(observer, "mask_complex", mask);
  return mask;
}

// Masked spectrogram (batch, stems, rows, frames, 2) -> (batch, stems, channels, n).
at::Tensor Roformer::Network::waveforms(const at::Tensor& masked, std::int64_t length) const {
  const std::int64_t batch = masked.size(0), stems = masked.size(1), frames = masked.size(3);
  const int channels = config.audio_channels();
  // 'b n (f s) t -> (b n s) f t'
  at::Tensor spec = masked.view({batch, stems, -1, channels, frames, 2}).permute({0, 1, 3, 2, 4, 5}).reshape(
      {batch * stems * channels, -1, frames, 2});
  if (config.zero_dc) {
    spec = spec.clone();
    spec.select(1, 0).zero_();
  }
  const bool keep_length = config.kind == RoformerKind::band_split || config.match_input_audio_length;
  const at::Tensor audio =
      at::istft(at::view_as_complex(spec.contiguous()), config.stft_n_fft, config.stft_hop_length,
                config.stft_win_length, window, /*center=*/true, config.stft_normalized, /*onesided=*/true,
                keep_length ? c10::optional<int64_t>(length) : c10::nullopt, /*return_complex=*/false);
  return audio.view({batch, stems, channels, audio.size(-1)});
}

at::Tensor Roformer::Network::forward(const at::Tensor& mix, const RoformerObserver* observer) const {
  c10::InferenceMode inference;
  if (mix.dim() != 3 || mix.size(1) != config.audio_channels()) {
    throw std::invalid_argument("RoFormer input must be (batch, " + std::to_string(config.audio_channels()) +
                                ", samples)");
  }
  const at::Tensor input = mix.to(device, at::kFloat);
  const at::Tensor spec = spectrogram(input);
  const at::Tensor x = band_input(spec);
  observe(observer, "band_split_in", x);
  at::Tensor masks;
  {
    // Half precision: the layers between the spectrogram and the masks run
    // under autocast; the STFT, the masking and the iSTFT stay in float32.
    std::optional<torch_compat::AutocastScope> autocast;
    if (precision != Precision::fp32) {
      autocast.emplace(device.type(), compute_dtype(precision));
    }
    const at::Tensor bands = band_split(x);
    observe(observer, "band_split_out", bands);
    const at::Tensor features = transform(bands, observer);
    observe(observer, "mask_estimator_in", features);
    masks = complex_masks(features, observer);
  }
  // Complex product with the mixture's spectrogram (broadcast over stems).
  const at::Tensor masked =
      at::view_as_real(at::view_as_complex(spec.unsqueeze(1).contiguous()) * at::view_as_complex(masks.contiguous()));
  if (observer != nullptr) {
    at::Tensor istft_in = masked.view({masked.size(0) * masked.size(1), -1, config.audio_channels(), masked.size(3), 2})
                              .permute({0, 2, 1, 3, 4})
                              .reshape({-1, bins_of(config), masked.size(3), 2})
                              .clone();
    if (config.zero_dc) {
      istft_in.select(1, 0).zero_();
    }
    observe(observer, "istft_in", istft_in);
  }
  const at::Tensor output = waveforms(masked, input.size(2));
  observe(observer, "output", output);
  return output;
}

// --- Roformer ------------------------------------------------------------------

Roformer::Roformer(std::unique_ptr<Network> network) : network_(std::move(network)) {}
Roformer::~Roformer() = default;

std::shared_ptr<Roformer> Roformer::from_state(const RoformerConfig& config, std::map<std::string, at::Tensor> state,
                                               const std::string& origin, at::Device device, Precision precision) {
  check_supported(config, origin);
  check_precision_on_device(precision, device);
  prepare_compute_runtime(device);
  auto network = std::make_unique<Network>();
  network->config = config;
  network->origin = origin;
  network->device = device;
  network->precision = precision;
  WeightStore weights(std::move(state), origin, device);
  network->build(weights);
  weights.expect_all_taken();
  return std::shared_ptr<Roformer>(new Roformer(std::move(network)));
}

std::shared_ptr<Roformer> Roformer::with_random_weights(const RoformerConfig& config, at::Device device,
                                                        std::uint64_t seed, Precision precision) {
  check_supported(config, "random weights");
  check_precision_on_device(precision, device);
  prepare_compute_runtime(device);
  auto network = std::make_unique<Network>();
  network->config = config;
  network->origin = "random weights";
  network->device = device;
  network->precision = precision;
  WeightStore weights = WeightStore::random(seed, device);
  network->build(weights);
  return std::shared_ptr<Roformer>(new Roformer(std::move(network)));
}

const RoformerConfig& Roformer::config() const { return network_->config; }
std::int64_t Roformer::parameter_count() const { return network_->parameters; }
const std::vector<std::string>& Roformer::sources() const { return network_->config.sources; }
int Roformer::samplerate() const { return network_->config.samplerate; }
int Roformer::audio_channels() const { return network_->config.audio_channels(); }
double Roformer::segment_seconds() const {
  return static_cast<double>(network_->config.chunk_size) / network_->config.samplerate;
}
at::Device Roformer::device() const { return network_->device; }
Precision Roformer::precision() const { return network_->precision; }

at::Tensor Roformer::forward(const at::Tensor& mix) { return network_->forward(mix, nullptr); }

at::Tensor Roformer::forward(const at::Tensor& mix, const RoformerObserver& observer) const {
  return network_->forward(mix, &observer);
}

}  // namespace demucs
