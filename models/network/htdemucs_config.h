// The hyper-parameters of an HTDemucs network, read from a checkpoint's kwargs
// (upstream demucs/htdemucs.py HTDemucs.__init__), never from constants.
#pragma once

#include "demucs/demucs.h"  // UnsupportedModelError

#include "checkpoint/pickle_value.h"

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace demucs {

struct HTDemucsConfig {
  std::vector<std::string> sources;
  int audio_channels = 2;
  int samplerate = 44100;
  Fraction segment{10, 1};

  int channels = 48;
  int channels_time = 0;  // 0: same as channels
  double growth = 2;
  int nfft = 4096;
  bool cac = true;
  int depth = 4;
  bool rewrite = true;
  double freq_emb = 0.2;  // 0: no frequency embedding
  double emb_scale = 10;
  int kernel_size = 8;
  int time_stride = 2;
  int stride = 4;
  int context = 1;
  int context_enc = 0;
  int norm_starts = 4;
  int norm_groups = 4;
  int dconv_mode = 1;  // bit 1: encoder, bit 2: decoder
  int dconv_depth = 2;
  double dconv_comp = 8;
  int bottom_channels = 0;

  int t_layers = 5;
  std::string t_emb = "sin";  // sin, cape or scaled
  double t_hidden_scale = 4.0;
  int t_heads = 8;
  int t_max_positions = 10000;
  bool t_norm_in = true;
  bool t_norm_in_group = false;
  bool t_group_norm = false;
  bool t_norm_first = true;
  bool t_norm_out = true;
  double t_max_period = 10000.0;
  bool t_layer_scale = true;
  bool t_gelu = true;
  double t_weight_pos_embed = 1.0;
  bool t_cape_mean_normalize = true;
  bool t_cross_first = false;

  int hop_length() const { return nfft / 4; }
  // Samples of one segment: int(segment * samplerate), as upstream.
  int64_t training_length() const;

  // Builds the configuration from a checkpoint's kwargs. `origin` (the file)
  // prefixes error messages. Throws UnsupportedModelError naming the option
  // for values this implementation does not run (sparse attention, Wiener
  // filtering, multi_freqs, ...) and for unknown options.
  static HTDemucsConfig from_kwargs(const std::map<std::string, PickleValue>& kwargs,
                                    const std::string& origin);
};

}  // namespace demucs
