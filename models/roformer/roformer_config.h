// The settings of a BS-RoFormer or Mel-Band RoFormer checkpoint, as the
// community (ZFTurbo Music-Source-Separation-Training) YAML configuration
// gives them: `model` (the constructor arguments of BSRoformer /
// MelBandRoformer), `audio`, `training` (instruments) and `inference`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace demucs {

enum class RoformerKind {
  band_split,  ///< BS-RoFormer: bands of consecutive bins (freqs_per_bands)
  mel_band,    ///< Mel-Band RoFormer: overlapping Slaney mel bands (num_bands)
};

/// "bs_roformer" or "mel_band_roformer".
const char* roformer_model_type(RoformerKind kind);

struct RoformerConfig {
  RoformerKind kind = RoformerKind::band_split;

  // --- model: the network -------------------------------------------------
  std::int64_t dim = 0;
  std::int64_t depth = 0;
  bool stereo = true;                      ///< audio_channels 2 (else 1)
  std::int64_t num_stems = 1;
  std::int64_t time_transformer_depth = 2;
  std::int64_t freq_transformer_depth = 2;
  std::int64_t linear_transformer_depth = 0;
  std::vector<std::int64_t> freqs_per_bands;  ///< band_split: bins per band, summing to n_fft/2+1
  std::int64_t num_bands = 60;                ///< mel_band: number of mel bands
  std::int64_t dim_head = 64;
  std::int64_t heads = 8;
  std::int64_t dim_freqs_in = 1025;
  int mel_sample_rate = 44100;  ///< mel_band: `model.sample_rate`, for the mel filter bank
  std::int64_t stft_n_fft = 2048;
  std::int64_t stft_hop_length = 512;
  std::int64_t stft_win_length = 2048;
  bool stft_normalized = false;
  bool zero_dc = true;
  std::int64_t mask_estimator_depth = 2;  ///< reference default: 2 (BS), 1 (Mel)
  std::int64_t mlp_expansion_factor = 4;
  bool skip_connection = false;
  bool match_input_audio_length = false;  ///< mel_band: istft to the input length

  // --- audio, training, inference ------------------------------------------
  int samplerate = 44100;           ///< audio.sample_rate
  std::int64_t chunk_size = 0;      ///< inference.chunk_size, else audio.chunk_size (samples)
  int num_overlap = 4;              ///< inference.num_overlap
  int batch_size = 1;               ///< inference.batch_size (informative: we run batch 1 numbers)
  std::vector<std::string> instruments;  ///< training.instruments
  std::string target_instrument;         ///< training.target_instrument, "" when absent/null
  /// What the network outputs, in order: {target_instrument} when it is set,
  /// else `instruments` (its size must equal num_stems).
  std::vector<std::string> sources;

  int audio_channels() const { return stereo ? 2 : 1; }
};

}  // namespace demucs
