#include "network/official_architectures.h"

namespace demucs {

std::map<std::string, PickleValue> official_htdemucs_kwargs() {
  PickleList sources;
  for (const char* name : {"drums", "bass", "other", "vocals"}) {
    sources.push_back(PickleValue::from_string(name));
  }
  std::map<std::string, PickleValue> kwargs;
  kwargs["sources"] = PickleValue::from_list(sources);
  kwargs["audio_channels"] = PickleValue::from_int(2);
  kwargs["samplerate"] = PickleValue::from_int(44100);
  kwargs["segment"] = PickleValue::from_fraction({39, 5});
  kwargs["channels"] = PickleValue::from_int(48);
  kwargs["growth"] = PickleValue::from_int(2);
  kwargs["nfft"] = PickleValue::from_int(4096);
  kwargs["cac"] = PickleValue::from_bool(true);
  kwargs["depth"] = PickleValue::from_int(4);
  kwargs["rewrite"] = PickleValue::from_bool(true);
  kwargs["freq_emb"] = PickleValue::from_float(0.2);
  kwargs["emb_scale"] = PickleValue::from_int(10);
  kwargs["kernel_size"] = PickleValue::from_int(8);
  kwargs["stride"] = PickleValue::from_int(4);
  kwargs["time_stride"] = PickleValue::from_int(2);
  kwargs["context"] = PickleValue::from_int(1);
  kwargs["context_enc"] = PickleValue::from_int(0);
  kwargs["norm_starts"] = PickleValue::from_int(4);
  kwargs["norm_groups"] = PickleValue::from_int(4);
  kwargs["dconv_mode"] = PickleValue::from_int(3);
  kwargs["dconv_depth"] = PickleValue::from_int(2);
  kwargs["dconv_comp"] = PickleValue::from_int(8);
  kwargs["bottom_channels"] = PickleValue::from_int(512);
  kwargs["t_layers"] = PickleValue::from_int(5);
  kwargs["t_heads"] = PickleValue::from_int(8);
  kwargs["t_hidden_scale"] = PickleValue::from_float(4.0);
  kwargs["t_emb"] = PickleValue::from_string("sin");
  kwargs["t_norm_in"] = PickleValue::from_bool(true);
  kwargs["t_norm_first"] = PickleValue::from_bool(true);
  kwargs["t_norm_out"] = PickleValue::from_bool(true);
  kwargs["t_layer_scale"] = PickleValue::from_bool(true);
  kwargs["t_gelu"] = PickleValue::from_bool(true);
  return kwargs;
}

}  // namespace demucs
