#include "tiny_roformer_configs.h"

namespace demucs::testing {

namespace {

RoformerConfig tiny_common() {
  RoformerConfig config;
  config.dim = 32;
  config.depth = 2;
  config.stereo = true;
  config.num_stems = 1;
  config.time_transformer_depth = 1;
  config.freq_transformer_depth = 1;
  config.linear_transformer_depth = 0;
  config.dim_head = 16;
  config.heads = 2;
  config.stft_n_fft = 2048;
  config.stft_hop_length = 441;
  config.stft_win_length = 2048;
  config.zero_dc = true;
  config.mask_estimator_depth = 2;
  config.mlp_expansion_factor = 1;
  config.samplerate = 44100;
  config.chunk_size = 88200;
  config.num_overlap = 2;
  config.instruments = {"vocals", "other"};
  config.target_instrument = "vocals";
  config.sources = {"vocals"};
  return config;
}

}  // namespace

RoformerConfig tiny_bs_roformer_config() {
  RoformerConfig config = tiny_common();
  config.kind = RoformerKind::band_split;
  config.freqs_per_bands = {2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,   2,
                            2,  2,  2,  2,  2,  2,  2,  4,  4,  4,  4,  4,  4,  4,  4,  4,   4,
                            4,  4,  12, 12, 12, 12, 12, 12, 12, 12, 24, 24, 24, 24, 24, 24, 24,
                            24, 48, 48, 48, 48, 48, 48, 48, 48, 128, 129};
  return config;
}

RoformerConfig tiny_mel_roformer_config() {
  RoformerConfig config = tiny_common();
  config.kind = RoformerKind::mel_band;
  config.num_bands = 60;
  config.mel_sample_rate = 44100;
  return config;
}

}  // namespace demucs::testing
