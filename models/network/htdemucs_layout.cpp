#include "network/htdemucs_layout.h"

#include <algorithm>

namespace demucs {

HTDemucsLayout HTDemucsLayout::from_config(const HTDemucsConfig& c) {
  HTDemucsLayout layout;
  const int64_t sources = static_cast<int64_t>(c.sources.size());
  int64_t chin = c.audio_channels;
  int64_t chin_z = c.cac ? 2 * chin : chin;
  int64_t chout = c.channels_time > 0 ? c.channels_time : c.channels;
  int64_t chout_z = c.channels;
  int64_t freqs = c.nfft / 2;

  for (int index = 0; index < c.depth; ++index) {
    BranchLayerSpec base;
    base.norm = index >= c.norm_starts;
    base.freq = freqs > 1;  // always true: HTDemucsConfig rejects deeper models
    base.kernel_size = c.kernel_size;
    base.stride = c.stride;
    bool last_freq = false;
    if (base.freq && freqs <= c.kernel_size) {
      base.kernel_size = freqs;
      base.pad = false;
      last_freq = true;
    }
    BranchLayerSpec time = base;
    time.freq = false;
    time.kernel_size = c.kernel_size;
    time.stride = c.stride;
    time.pad = true;

    if (last_freq) {
      chout_z = std::max(chout, chout_z);
      chout = chout_z;
    }

    BranchLayerSpec enc = base;
    enc.chin = chin_z;
    enc.chout = chout_z;
    enc.dconv = (c.dconv_mode & 1) != 0;
    enc.context = c.context_enc;
    layout.encoder.push_back(enc);

    BranchLayerSpec tenc = time;
    tenc.chin = chin;
    tenc.chout = chout;
    tenc.dconv = (c.dconv_mode & 1) != 0;
    tenc.context = c.context_enc;
    tenc.empty = last_freq;
    layout.tencoder.push_back(tenc);

    if (index == 0) {
      chin = static_cast<int64_t>(c.audio_channels) * sources;
      chin_z = c.cac ? 2 * chin : chin;
    }
    BranchLayerSpec dec = base;
    dec.chin = chout_z;
    dec.chout = chin_z;
    dec.dconv = (c.dconv_mode & 2) != 0;
    dec.last = index == 0;
    dec.context = c.context;
    layout.decoder.insert(layout.decoder.begin(), dec);

    BranchLayerSpec tdec = time;
    tdec.chin = chout;
    tdec.chout = chin;
    tdec.dconv = (c.dconv_mode & 2) != 0;
    tdec.empty = last_freq;
    tdec.last = index == 0;
    tdec.context = c.context;
    layout.tdecoder.insert(layout.tdecoder.begin(), tdec);

    chin = chout;
    chin_z = chout_z;
    chout = static_cast<int64_t>(c.growth * static_cast<double>(chout));
    chout_z = static_cast<int64_t>(c.growth * static_cast<double>(chout_z));
    freqs = freqs <= c.kernel_size ? 1 : freqs / c.stride;
    if (index == 0 && c.freq_emb != 0.0) {
      layout.freq_emb_count = freqs;
      layout.freq_emb_channels = chin_z;
    }
  }
  layout.bottom_width = layout.encoder.back().chout;
  return layout;
}

}  // namespace demucs
