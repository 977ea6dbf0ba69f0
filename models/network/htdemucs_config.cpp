#include "network/htdemucs_config.h"

#include <cmath>
#include <functional>
#include <set>

namespace demucs {

namespace {

// Reads one kwarg into a field, with errors that name the option.
class KwargsReader {
 public:
  KwargsReader(const std::map<std::string, PickleValue>& kwargs, std::string origin)
      : kwargs_(kwargs), origin_(std::move(origin)) {}

  template <typename T>
  void read(const std::string& key, T& field, std::function<T(const PickleValue&)> convert) {
    seen_.insert(key);
    const auto it = kwargs_.find(key);
    if (it == kwargs_.end()) {
      return;  // upstream's default applies
    }
    try {
      field = convert(it->second);
    } catch (const std::exception& e) {
      fail(key, it->second, e.what());
    }
  }
  void read_int(const std::string& key, int& field) {
    read<int>(key, field, [](const PickleValue& v) { return static_cast<int>(v.as_int()); });
  }
  void read_double(const std::string& key, double& field) {
    read<double>(key, field, [](const PickleValue& v) { return v.as_double(); });
  }
  void read_bool(const std::string& key, bool& field) {
    read<bool>(key, field, [](const PickleValue& v) {
      return v.kind() == PickleValue::Kind::Int ? v.as_int() != 0 : v.as_bool();
    });
  }
  void read_string(const std::string& key, std::string& field) {
    read<std::string>(key, field, [](const PickleValue& v) { return v.as_string(); });
  }

  // Options that only matter for training (or that must keep one value).
  void ignore(const std::string& key) { seen_.insert(key); }

  // The option must be absent or equal to `supported` (compared by repr).
  void require(const std::string& key, const std::string& supported_repr, const std::string& why) {
    seen_.insert(key);
    const auto it = kwargs_.find(key);
    if (it != kwargs_.end() && it->second.repr() != supported_repr) {
      fail(key, it->second, why);
    }
  }

  void reject_unknown() const {
    for (const auto& [key, value] : kwargs_) {
      if (seen_.count(key) == 0) {
        throw UnsupportedModelError(origin_ + ": unknown HTDemucs option '" + key + "' = " + value.repr() +
                                    " (this checkpoint was made by a Demucs version this program does not know)");
      }
    }
  }

  [[noreturn]] void fail(const std::string& key, const PickleValue& value, const std::string& why) const {
    throw UnsupportedModelError(origin_ + ": unsupported HTDemucs option " + key + "=" + value.repr() + ": " + why);
  }

  const std::string& origin() const { return origin_; }

 private:
  const std::map<std::string, PickleValue>& kwargs_;
  std::string origin_;
  std::set<std::string> seen_;
};

}  // namespace

int64_t HTDemucsConfig::training_length() const {
  // int(Fraction * int) truncates toward zero; both are positive here.
  return segment.numerator * samplerate / segment.denominator;
}

HTDemucsConfig HTDemucsConfig::from_kwargs(const std::map<std::string, PickleValue>& kwargs,
                                           const std::string& origin) {
  HTDemucsConfig c;
  KwargsReader r(kwargs, origin);

  r.read<std::vector<std::string>>("sources", c.sources, [](const PickleValue& v) {
    std::vector<std::string> names;
    for (const auto& item : v.as_list()) {
      names.push_back(item.as_string());
    }
    return names;
  });
  r.read_int("audio_channels", c.audio_channels);
  r.read_int("samplerate", c.samplerate);
  r.read<Fraction>("segment", c.segment, [](const PickleValue& v) {
    if (v.kind() == PickleValue::Kind::Float) {
      // A float segment: keep it exact enough for int(segment * samplerate).
      return Fraction{static_cast<int64_t>(v.as_double() * 1000000.0 + 0.5), 1000000};
    }
    return v.as_fraction();
  });
  r.read<int>("channels_time", c.channels_time, [](const PickleValue& v) {
    return v.is_none() ? 0 : static_cast<int>(v.as_int());
  });
  r.read_int("channels", c.channels);
  r.read_double("growth", c.growth);
  r.read_int("nfft", c.nfft);
  r.read_bool("cac", c.cac);
  r.read_int("depth", c.depth);
  r.read_bool("rewrite", c.rewrite);
  r.read_double("freq_emb", c.freq_emb);
  r.read_double("emb_scale", c.emb_scale);
  r.ignore("emb_smooth");  // initialisation only
  r.read_int("kernel_size", c.kernel_size);
  r.read_int("time_stride", c.time_stride);
  r.read_int("stride", c.stride);
  r.read_int("context", c.context);
  r.read_int("context_enc", c.context_enc);
  r.read_int("norm_starts", c.norm_starts);
  r.read_int("norm_groups", c.norm_groups);
  r.read_int("dconv_mode", c.dconv_mode);
  r.read_int("dconv_depth", c.dconv_depth);
  r.read_double("dconv_comp", c.dconv_comp);
  r.ignore("dconv_init");
  r.read_int("bottom_channels", c.bottom_channels);

  r.read_int("t_layers", c.t_layers);
  r.read_string("t_emb", c.t_emb);
  r.read_double("t_hidden_scale", c.t_hidden_scale);
  r.read_int("t_heads", c.t_heads);
  r.read_int("t_max_positions", c.t_max_positions);
  r.read_bool("t_norm_in", c.t_norm_in);
  r.read_bool("t_norm_in_group", c.t_norm_in_group);
  r.read_bool("t_group_norm", c.t_group_norm);
  r.read_bool("t_norm_first", c.t_norm_first);
  r.read_bool("t_norm_out", c.t_norm_out);
  r.read_double("t_max_period", c.t_max_period);
  r.read_bool("t_layer_scale", c.t_layer_scale);
  r.read_bool("t_gelu", c.t_gelu);
  r.read_double("t_weight_pos_embed", c.t_weight_pos_embed);
  r.read_bool("t_cape_mean_normalize", c.t_cape_mean_normalize);
  r.read_bool("t_cross_first", c.t_cross_first);
  // Training-time or initialisation-only options: no effect in eval mode.
  for (const char* key : {"t_dropout", "t_weight_decay", "t_lr", "t_cape_augment", "t_cape_glob_loc_scale",
                          "rescale", "end_iters", "wiener_residual", "t_mask_type", "t_mask_random_seed",
                          "t_sparse_attn_window", "t_global_window", "t_sparsity", "t_auto_sparsity",
                          "multi_freqs_depth"}) {
    r.ignore(key);
  }
  r.require("t_sin_random_shift", "0", "random positional shifts are a training-time option");
  r.require("t_sparse_self_attn", "False", "sparse attention needs xformers; only dense attention is supported");
  r.require("t_sparse_cross_attn", "False", "sparse attention needs xformers; only dense attention is supported");
  r.require("wiener_iters", "0", "Wiener filtering is not supported");
  r.require("multi_freqs", "[]", "frequency band splitting (MultiWrap) is not supported");
  r.require("use_train_segment", "True", "only models evaluated at their training segment are supported");
  r.reject_unknown();

  const auto bad = [&](const std::string& what) {
    throw UnsupportedModelError(origin + ": unsupported HTDemucs configuration: " + what);
  };
  if (c.sources.empty()) bad("sources is empty");
  if (!c.cac) bad("cac=False (masking or Wiener filtering) is not supported, only complex-as-channels");
  if (c.audio_channels < 1) bad("audio_channels must be >= 1");
  if (c.samplerate < 1 || c.segment.numerator <= 0 || c.segment.denominator <= 0) bad("samplerate and segment must be positive");
  if (c.nfft < 16 || c.nfft % 4 != 0) bad("nfft must be a multiple of 4");
  if (c.depth < 1) bad("depth must be >= 1");
  if (c.dconv_mode < 0 || c.dconv_mode > 3) bad("dconv_mode must be 0..3");
  if (c.t_emb != "sin" && c.t_emb != "cape" && c.t_emb != "scaled") bad("t_emb='" + c.t_emb + "'");
  if (c.t_layers > 0) {
    const int dim = c.bottom_channels > 0 ? c.bottom_channels
                                          : static_cast<int>(c.channels * std::pow(c.growth, c.depth - 1));
    if (c.t_heads < 1 || dim % c.t_heads != 0) bad("transformer width is not a multiple of t_heads");
  }
  // Every layer of HTDemucs must still see several frequencies: the
  // transformer takes a (channels, freqs, time) input.
  int freqs = c.nfft / 2;
  for (int i = 0; i < c.depth; ++i) {
    if (freqs <= 1) bad("depth " + std::to_string(c.depth) + " with nfft " + std::to_string(c.nfft) + " leaves no frequencies");
    freqs = freqs <= c.kernel_size ? 1 : freqs / c.stride;
  }
  return c;
}

}  // namespace demucs
