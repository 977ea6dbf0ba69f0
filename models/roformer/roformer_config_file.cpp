// The community YAML configuration of a RoFormer checkpoint, read with
// yaml-cpp. The defaults are those of the reference constructors
// (BSRoformer / MelBandRoformer.__init__) and of its inference code
// (utils/model_utils.py demix, inference.py), so that a key left out means
// what it means to the reference.
#include "roformer/roformer_config_file.h"

#include "demucs/demucs.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <system_error>
#include <utility>

namespace demucs {

namespace {

// bs_roformer.py DEFAULT_FREQS_PER_BANDS: what BSRoformer uses when the
// configuration names no bands (62 bands over the 1025 bins of n_fft 2048).
const std::vector<std::int64_t> kDefaultFreqsPerBands = {
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,
    2,  2,  2,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  12, 12, 12, 12, 12, 12,
    12, 12, 24, 24, 24, 24, 24, 24, 24, 24, 48, 48, 48, 48, 48, 48, 48, 48, 128, 129};

// What the reference does with each constructor argument of `model`.
enum class ModelKeyUse {
  read,          // implemented: read into RoformerConfig
  training_only, // no effect on inference (eval mode): ignored
  default_only,  // not implemented: accepted only with its default value
};

enum class KindScope { both, band_split, mel_band };

struct ModelKey {
  const char* name;
  ModelKeyUse use;
  KindScope scope;
};

// Every argument of BSRoformer and MelBandRoformer.__init__ (reference commit
// ccc011a), plus sage_attention, which configs of the experimental variants carry.
const ModelKey kModelKeys[] = {
    {"dim", ModelKeyUse::read, KindScope::both},
    {"depth", ModelKeyUse::read, KindScope::both},
    {"stereo", ModelKeyUse::read, KindScope::both},
    {"num_stems", ModelKeyUse::read, KindScope::both},
    {"time_transformer_depth", ModelKeyUse::read, KindScope::both},
    {"freq_transformer_depth", ModelKeyUse::read, KindScope::both},
    {"linear_transformer_depth", ModelKeyUse::read, KindScope::both},
    {"freqs_per_bands", ModelKeyUse::read, KindScope::band_split},
    {"num_bands", ModelKeyUse::read, KindScope::mel_band},
    {"sample_rate", ModelKeyUse::read, KindScope::mel_band},
    {"match_input_audio_length", ModelKeyUse::read, KindScope::mel_band},
    {"dim_head", ModelKeyUse::read, KindScope::both},
    {"heads", ModelKeyUse::read, KindScope::both},
    {"dim_freqs_in", ModelKeyUse::read, KindScope::both},
    {"stft_n_fft", ModelKeyUse::read, KindScope::both},
    {"stft_hop_length", ModelKeyUse::read, KindScope::both},
    {"stft_win_length", ModelKeyUse::read, KindScope::both},
    {"stft_normalized", ModelKeyUse::read, KindScope::both},
    {"zero_dc", ModelKeyUse::read, KindScope::both},
    {"mask_estimator_depth", ModelKeyUse::read, KindScope::both},
    {"mlp_expansion_factor", ModelKeyUse::read, KindScope::both},
    {"skip_connection", ModelKeyUse::read, KindScope::both},
    {"attn_dropout", ModelKeyUse::training_only, KindScope::both},
    {"ff_dropout", ModelKeyUse::training_only, KindScope::both},
    // Only picks the attention kernel; the arithmetic is the same.
    {"flash_attn", ModelKeyUse::training_only, KindScope::both},
    {"use_torch_checkpoint", ModelKeyUse::training_only, KindScope::both},
    {"multi_stft_resolution_loss_weight", ModelKeyUse::training_only, KindScope::both},
    {"multi_stft_resolutions_window_sizes", ModelKeyUse::training_only, KindScope::both},
    {"multi_stft_hop_size", ModelKeyUse::training_only, KindScope::both},
    {"multi_stft_normalized", ModelKeyUse::training_only, KindScope::both},
    {"multi_stft_window_fn", ModelKeyUse::training_only, KindScope::both},
    {"stft_window_fn", ModelKeyUse::default_only, KindScope::both},
    {"use_pope", ModelKeyUse::default_only, KindScope::both},
    {"sage_attention", ModelKeyUse::default_only, KindScope::both},
};

const ModelKey* find_model_key(const std::string& name) {
  for (const ModelKey& key : kModelKeys) {
    if (name == key.name) return &key;
  }
  return nullptr;
}

bool in_scope(KindScope scope, RoformerKind kind) {
  return scope == KindScope::both || (scope == KindScope::band_split) == (kind == RoformerKind::band_split);
}

std::string scalar_text(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  if (node.IsNull()) return "null";
  if (node.IsSequence()) return "a list";
  return "a mapping";
}

// Reads the sections of one configuration; every message starts with its origin.
class ConfigFile {
 public:
  ConfigFile(YAML::Node root, std::string origin) : root_(std::move(root)), origin_(std::move(origin)) {}

  [[noreturn]] void fail(const std::string& what) const { throw CheckpointError(origin_ + ": " + what); }
  [[noreturn]] void unsupported(const std::string& what) const {
    throw UnsupportedModelError(origin_ + ": " + what);
  }

  // A top-level section: a mapping, or an empty node when absent (and optional).
  YAML::Node section(const char* name, bool required) const {
    const YAML::Node node = root_[name];
    if (!node.IsDefined() || node.IsNull()) {
      if (required) fail("the section '" + std::string(name) + "' is missing");
      return YAML::Node(YAML::NodeType::Map);
    }
    if (!node.IsMap()) fail("'" + std::string(name) + "' must be a mapping of settings");
    return node;
  }

  template <typename T>
  T value(const YAML::Node& node, const std::string& key, const char* expected) const {
    if (!node.IsScalar()) fail(key + " must be " + expected + ", not " + scalar_text(node));
    try {
      return node.as<T>();
    } catch (const YAML::BadConversion&) {
      fail(key + " must be " + expected + ", not '" + node.Scalar() + "'");
    }
  }

  std::int64_t integer(const YAML::Node& node, const std::string& key) const {
    return value<std::int64_t>(node, key, "an integer");
  }

  std::int64_t positive(const YAML::Node& node, const std::string& key) const {
    const std::int64_t number = integer(node, key);
    if (number <= 0) fail(key + " must be positive, not " + std::to_string(number));
    return number;
  }

  std::int64_t non_negative(const YAML::Node& node, const std::string& key) const {
    const std::int64_t number = integer(node, key);
    if (number < 0) fail(key + " must not be negative, not " + std::to_string(number));
    return number;
  }

  bool boolean(const YAML::Node& node, const std::string& key) const {
    return value<bool>(node, key, "true or false");
  }

  std::string text(const YAML::Node& node, const std::string& key) const {
    return value<std::string>(node, key, "a string");
  }

  std::vector<std::int64_t> positive_list(const YAML::Node& node, const std::string& key) const {
    if (!node.IsSequence() || node.size() == 0) fail(key + " must be a non-empty list of integers");
    std::vector<std::int64_t> numbers;
    for (std::size_t i = 0; i < node.size(); ++i) {
      numbers.push_back(positive(node[i], key + "[" + std::to_string(i) + "]"));
    }
    return numbers;
  }

  std::vector<std::string> text_list(const YAML::Node& node, const std::string& key) const {
    if (!node.IsSequence() || node.size() == 0) fail(key + " must be a non-empty list of names");
    std::vector<std::string> names;
    for (std::size_t i = 0; i < node.size(); ++i) names.push_back(text(node[i], key + "[" + std::to_string(i) + "]"));
    return names;
  }

  const YAML::Node& root() const { return root_; }
  const std::string& origin() const { return origin_; }

 private:
  YAML::Node root_;
  std::string origin_;
};

bool present(const YAML::Node& node) { return node.IsDefined() && !node.IsNull(); }

// The model_type the file names, if any: at the top level, in `training`
// (where the reference's get_model_from_config looks) or in `model`. They
// must agree.
std::string model_type_in_file(const ConfigFile& file) {
  std::string found;
  std::string found_where;
  const auto consider = [&](const YAML::Node& node, const std::string& where) {
    if (!present(node)) return;
    const std::string type = file.text(node, where);
    if (!found.empty() && type != found) {
      file.fail(where + " is " + type + " but " + found_where + " is " + found);
    }
    found = type;
    found_where = where;
  };
  consider(file.root()["model_type"], "model_type");
  const YAML::Node training = file.root()["training"];
  if (training.IsMap()) consider(training["model_type"], "training.model_type");
  const YAML::Node model = file.root()["model"];
  if (model.IsMap()) consider(model["model_type"], "model.model_type");
  return found;
}

RoformerKind kind_of(const ConfigFile& file, const YAML::Node& model, const std::string& given) {
  const std::string in_file = model_type_in_file(file);
  if (!given.empty() && !in_file.empty() && given != in_file) {
    file.fail("the model type given is " + given + " but the file says " + in_file);
  }
  const std::string type = !given.empty() ? given : in_file;
  if (!type.empty()) return roformer_kind_of_model_type(type, file.origin());

  const bool bands = present(model["freqs_per_bands"]);
  const bool mel_bands = present(model["num_bands"]);
  if (bands && mel_bands) {
    file.fail("model has both freqs_per_bands (BS-RoFormer) and num_bands (Mel-Band RoFormer); "
              "say which with model_type");
  }
  if (!bands && !mel_bands) {
    file.fail("cannot tell the model type: model has neither freqs_per_bands (bs_roformer) nor "
              "num_bands (mel_band_roformer), and no model_type is given");
  }
  return bands ? RoformerKind::band_split : RoformerKind::mel_band;
}

// Every key of `model` is one the reference takes for this kind; arguments
// not implemented here have their default value.
void check_model_keys(const ConfigFile& file, const YAML::Node& model, RoformerKind kind) {
  for (const auto& entry : model) {
    const std::string name = entry.first.as<std::string>();
    if (name == "model_type") continue;  // read by kind_of
    const std::string key = "model." + name;
    const ModelKey* known = find_model_key(name);
    if (known == nullptr) {
      file.unsupported(key + " is not an argument this implementation knows (" +
                       roformer_model_type(kind) + ")");
    }
    if (!in_scope(known->scope, kind)) {
      file.unsupported(key + " is not an argument of " + std::string(roformer_model_type(kind)));
    }
    if (known->use != ModelKeyUse::default_only) continue;
    const YAML::Node& value = entry.second;
    const bool is_default = name == "stft_window_fn" ? value.IsNull() : !file.boolean(value, key);
    if (!is_default) {
      file.unsupported(key + ": " + scalar_text(value) + " is not implemented (only the default, " +
                       (name == "stft_window_fn" ? "null" : "false") + ", is)");
    }
  }
}

void read_model(const ConfigFile& file, const YAML::Node& model, RoformerConfig& config) {
  const auto key = [](const char* name) { return std::string("model.") + name; };
  const auto positive_if_present = [&](const char* name, std::int64_t& target) {
    if (present(model[name])) target = file.positive(model[name], key(name));
  };
  const auto count_if_present = [&](const char* name, std::int64_t& target) {
    if (present(model[name])) target = file.non_negative(model[name], key(name));
  };
  const auto flag_if_present = [&](const char* name, bool& target) {
    if (present(model[name])) target = file.boolean(model[name], key(name));
  };

  if (!present(model["dim"])) file.fail("model.dim is missing");
  if (!present(model["depth"])) file.fail("model.depth is missing");
  config.dim = file.positive(model["dim"], key("dim"));
  config.depth = file.positive(model["depth"], key("depth"));

  // The reference constructors' defaults, where they differ from RoformerConfig's.
  const bool band_split = config.kind == RoformerKind::band_split;
  config.stereo = false;
  config.mask_estimator_depth = band_split ? 2 : 1;
  config.stft_hop_length = 512;

  flag_if_present("stereo", config.stereo);
  positive_if_present("num_stems", config.num_stems);
  count_if_present("time_transformer_depth", config.time_transformer_depth);
  count_if_present("freq_transformer_depth", config.freq_transformer_depth);
  count_if_present("linear_transformer_depth", config.linear_transformer_depth);
  positive_if_present("dim_head", config.dim_head);
  positive_if_present("heads", config.heads);
  positive_if_present("dim_freqs_in", config.dim_freqs_in);
  positive_if_present("stft_n_fft", config.stft_n_fft);
  positive_if_present("stft_hop_length", config.stft_hop_length);
  positive_if_present("stft_win_length", config.stft_win_length);
  flag_if_present("stft_normalized", config.stft_normalized);
  flag_if_present("zero_dc", config.zero_dc);
  count_if_present("mask_estimator_depth", config.mask_estimator_depth);
  positive_if_present("mlp_expansion_factor", config.mlp_expansion_factor);
  flag_if_present("skip_connection", config.skip_connection);

  if (band_split) {
    config.freqs_per_bands = present(model["freqs_per_bands"])
                                 ? file.positive_list(model["freqs_per_bands"], key("freqs_per_bands"))
                                 : kDefaultFreqsPerBands;
  } else {
    positive_if_present("num_bands", config.num_bands);
    std::int64_t rate = config.mel_sample_rate;
    positive_if_present("sample_rate", rate);
    config.mel_sample_rate = static_cast<int>(rate);
    flag_if_present("match_input_audio_length", config.match_input_audio_length);
  }
}

// What the reference constructors assert about the STFT and the bands.
void check_model(const ConfigFile& file, const RoformerConfig& config) {
  if (config.stft_win_length > config.stft_n_fft) {
    file.fail("model.stft_win_length " + std::to_string(config.stft_win_length) + " is larger than model.stft_n_fft " +
              std::to_string(config.stft_n_fft));
  }
  if (config.kind != RoformerKind::band_split) return;
  const std::int64_t bins = config.stft_n_fft / 2 + 1;
  const std::int64_t sum = std::accumulate(config.freqs_per_bands.begin(), config.freqs_per_bands.end(),
                                           std::int64_t{0});
  if (config.freqs_per_bands.size() < 2 || sum != bins) {
    file.fail("model.freqs_per_bands must have at least 2 bands summing to stft_n_fft / 2 + 1 = " +
              std::to_string(bins) + "; they are " + std::to_string(config.freqs_per_bands.size()) +
              " bands summing to " + std::to_string(sum));
  }
}

void read_audio_and_inference(const ConfigFile& file, RoformerConfig& config) {
  const YAML::Node audio = file.section("audio", false);
  const YAML::Node inference = file.section("inference", true);

  // inference.py: getattr(config.audio, "sample_rate", 44100).
  if (present(audio["sample_rate"])) {
    config.samplerate = static_cast<int>(file.positive(audio["sample_rate"], "audio.sample_rate"));
  }
  // demix: inference.chunk_size if present, else audio.chunk_size; there is no default.
  if (present(inference["chunk_size"])) {
    config.chunk_size = file.positive(inference["chunk_size"], "inference.chunk_size");
  } else if (present(audio["chunk_size"])) {
    config.chunk_size = file.positive(audio["chunk_size"], "audio.chunk_size");
  } else {
    file.fail("the chunk size is missing: neither inference.chunk_size nor audio.chunk_size is set");
  }
  // demix reads inference.num_overlap and batch_size without a default.
  if (!present(inference["num_overlap"])) file.fail("inference.num_overlap is missing");
  config.num_overlap = static_cast<int>(file.positive(inference["num_overlap"], "inference.num_overlap"));
  if (config.num_overlap > config.chunk_size) {
    file.fail("inference.num_overlap " + std::to_string(config.num_overlap) + " is larger than the chunk size " +
              std::to_string(config.chunk_size));
  }
  if (present(inference["batch_size"])) {
    config.batch_size = static_cast<int>(file.positive(inference["batch_size"], "inference.batch_size"));
  }
  // inference.py normalises the mix (and denormalises the stems) when this is
  // true; our demix does not.
  if (present(inference["normalize"]) && file.boolean(inference["normalize"], "inference.normalize")) {
    file.unsupported("inference.normalize: true is not implemented (the mix is separated as it is)");
  }
}

void read_training(const ConfigFile& file, RoformerConfig& config) {
  const YAML::Node training = file.section("training", true);
  if (!present(training["instruments"])) file.fail("training.instruments is missing");
  config.instruments = file.text_list(training["instruments"], "training.instruments");
  if (present(training["target_instrument"])) {
    config.target_instrument = file.text(training["target_instrument"], "training.target_instrument");
  }
  // utils/model_utils.py prefer_target_instrument: a (non-empty) target
  // instrument is the model's only output, else every instrument in order.
  if (!config.target_instrument.empty()) {
    if (config.num_stems != 1) {
      file.fail("training.target_instrument is " + config.target_instrument + " but model.num_stems is " +
                std::to_string(config.num_stems) + " (a single target needs 1 stem)");
    }
    config.sources = {config.target_instrument};
  } else {
    if (static_cast<std::int64_t>(config.instruments.size()) != config.num_stems) {
      file.fail("training.instruments names " + std::to_string(config.instruments.size()) +
                " instruments but model.num_stems is " + std::to_string(config.num_stems) +
                " (without training.target_instrument the model outputs one stem per instrument)");
    }
    config.sources = config.instruments;
  }
}

YAML::Node parse_yaml(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& error) {
    throw CheckpointError(origin + ": not a valid YAML file: " + error.what());
  }
  if (!root.IsMap()) throw CheckpointError(origin + ": not a model configuration (expected a YAML mapping)");
  return root;
}

}  // namespace

RoformerKind roformer_kind_of_model_type(const std::string& model_type, const std::string& origin) {
  if (model_type == "bs_roformer") return RoformerKind::band_split;
  if (model_type == "mel_band_roformer") return RoformerKind::mel_band;
  throw UnsupportedModelError(origin + ": model_type " + model_type +
                              " is not supported; RoFormer checkpoints run here are bs_roformer and "
                              "mel_band_roformer");
}

RoformerConfig parse_roformer_config(const std::string& yaml_text, const std::string& origin,
                                     const std::string& model_type) {
  const ConfigFile file(parse_yaml(yaml_text, origin), origin);
  const YAML::Node model = file.section("model", true);

  RoformerConfig config;
  config.kind = kind_of(file, model, model_type);
  check_model_keys(file, model, config.kind);
  read_model(file, model, config);
  check_model(file, config);
  read_audio_and_inference(file, config);
  read_training(file, config);
  return config;
}

RoformerConfig read_roformer_config(const std::string& path, const std::string& model_type) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw ModelNotFoundError("model configuration " + path + " does not exist");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) throw CheckpointError(path + ": cannot be read");
  return parse_roformer_config(text.str(), path, model_type);
}

}  // namespace demucs
