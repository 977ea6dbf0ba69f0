#include "loading/stem_model.h"

#include "loading/shared_roformer_models.h"
#include "network/compute_precision.h"
#include "network/shared_models.h"
#include "registry/model_cache.h"
#include "registry/model_registry.h"
#include "roformer/roformer_loader.h"

#include <algorithm>
#include <stdexcept>

namespace demucs {

namespace {

bool has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) {
    text += (text.empty() ? "" : ", ") + item;
  }
  return text;
}

// Which sources make `stem`, checked against the model's sources.
std::vector<std::string> sources_of_stem(const std::string& stem, const std::vector<std::string>& sources,
                                         const std::string& model_name, bool* sum) {
  *sum = false;
  if (has(sources, stem)) {
    return {stem};
  }
  if (stem == kInstrumentalStem && has(sources, "vocals")) {
    *sum = true;
    std::vector<std::string> others;
    std::copy_if(sources.begin(), sources.end(), std::back_inserter(others),
                 [](const std::string& s) { return s != "vocals"; });
    return others;
  }
  throw std::invalid_argument("unknown stem '" + stem + "' for model " + model_name +
                              "; valid stems: " + joined(valid_stems(sources)));
}

}  // namespace

std::vector<std::string> valid_stems(const std::vector<std::string>& sources) {
  std::vector<std::string> stems = sources;
  if (has(sources, "vocals")) {
    stems.push_back(kInstrumentalStem);
  }
  return stems;
}

namespace {

// The stems asked for, checked: `requested` empty = every valid stem.
std::vector<std::string> stems_of_request(const std::vector<std::string>& requested,
                                          const std::vector<std::string>& sources, const std::string& model_name) {
  if (requested.empty()) {
    return valid_stems(sources);
  }
  for (size_t i = 0; i < requested.size(); ++i) {
    if (std::find(requested.begin(), requested.begin() + static_cast<std::ptrdiff_t>(i), requested[i]) !=
        requested.begin() + static_cast<std::ptrdiff_t>(i)) {
      throw std::invalid_argument("stem '" + requested[i] + "' is asked for twice (model " + model_name + ")");
    }
  }
  return requested;
}

// Fills stems, separate (the union of the sources the stems need, in the
// model's order) and stem_parts from the model's sources.
void plan_stems(StemModel& model, const std::vector<std::string>& requested, const std::vector<std::string>& sources,
                const std::string& model_name) {
  model.stems = stems_of_request(requested, sources, model_name);
  std::vector<std::vector<std::string>> needs;
  for (const auto& stem : model.stems) {
    bool sum = false;
    needs.push_back(sources_of_stem(stem, sources, model_name, &sum));
    model.sum_sources = model.stems.size() == 1 && sum;
  }
  model.separate.clear();
  for (const auto& source : sources) {
    for (const auto& need : needs) {
      if (has(need, source)) {
        model.separate.push_back(source);
        break;
      }
    }
  }
  model.stem_parts.clear();
  for (const auto& need : needs) {
    std::vector<std::int64_t> parts;
    for (const auto& source : need) {
      parts.push_back(std::find(model.separate.begin(), model.separate.end(), source) - model.separate.begin());
    }
    model.stem_parts.push_back(parts);
  }
}

// A RoFormer model: every stem is one row of the demix separator, a source
// or "instrumental", which the separator computes as the mix minus the
// vocals (as the reference's inference does), not as the sum of the others.
void plan_roformer_stems(StemModel& model, const std::vector<std::string>& requested) {
  model.stems = stems_of_request(requested, model.sources, model.name);
  for (const auto& stem : model.stems) {
    if (!has(valid_stems(model.sources), stem)) {
      throw std::invalid_argument("unknown stem '" + stem + "' for model " + model.name +
                                  "; valid stems: " + joined(valid_stems(model.sources)));
    }
  }
  model.separate.clear();
  for (const auto& row : valid_stems(model.sources)) {
    if (has(model.stems, row)) {
      model.separate.push_back(row);
    }
  }
  model.stem_parts.clear();
  for (const auto& stem : model.stems) {
    const auto row = std::find(model.separate.begin(), model.separate.end(), stem);
    model.stem_parts.push_back({row - model.separate.begin()});
  }
}

std::string joined_with_commas(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) {
    text += (text.empty() ? "" : ",") + item;
  }
  return text;
}

bool has_suffix(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A known RoFormer model, a path ending in ".ckpt", or a path given with a
// configuration that is not a Demucs .th (which carries its own settings: a
// configuration given with it is not used).
bool is_roformer_spec(const std::string& spec, const std::string& config) {
  if (const KnownModel* known = find_known_model(spec)) {
    return known->architecture == ModelArchitecture::roformer;
  }
  return has_suffix(spec, ".ckpt") || (!config.empty() && !has_suffix(spec, ".th"));
}

// `config` given wins; else a known model's cached YAML; else the one beside the checkpoint.
StemModel load_roformer_stems_model(const std::string& spec, const std::string& config,
                                    const std::vector<std::string>& stems, c10::Device device, Precision precision) {
  const ResolvedModel resolved = ModelCache::from_environment().resolve(spec);
  const std::string& checkpoint = resolved.files.front();
  const std::string yaml = !config.empty()            ? config
                           : !resolved.config.empty() ? resolved.config
                                                      : default_roformer_config_path(checkpoint);
  StemModel result;
  result.device = device;
  result.precision = precision;
  result.name = resolved.name;
  result.roformer = load_shared_roformer(checkpoint, yaml, device, precision);
  const RoformerConfig& settings = result.roformer->config();
  result.sources = result.roformer->sources();
  plan_roformer_stems(result, stems);
  result.stem = joined_with_commas(result.stems);
  result.samplerate = result.roformer->samplerate();
  result.audio_channels = result.roformer->audio_channels();
  result.chunk_size = settings.chunk_size;
  result.num_overlap = settings.num_overlap;
  result.segment_seconds = static_cast<double>(settings.chunk_size) / settings.samplerate;
  return result;
}

}  // namespace

StemModel load_stem_model(const std::string& spec, const std::string& stem, c10::Device device,
                          Precision precision, const std::string& config) {
  return load_stems_model(spec, {stem}, device, precision, config);
}

StemModel load_stems_model(const std::string& spec, const std::vector<std::string>& stems, c10::Device device,
                           Precision precision, const std::string& config) {
  check_precision_on_device(precision, device);
  if (is_roformer_spec(spec, config)) {
    return load_roformer_stems_model(spec, config, stems, device, precision);
  }
  const ModelCache cache = ModelCache::from_environment();
  StemModel result;
  result.device = device;
  result.precision = precision;
  // A known model lists its sources, so only the members the stems need are
  // looked up; a checkpoint path tells its sources once loaded.
  const KnownModel* known = find_known_model(spec);
  if (known != nullptr) {
    plan_stems(result, stems, known->sources, known->name);
  }
  const ResolvedModel resolved = cache.resolve(spec, result.separate);
  result.name = resolved.name;
  for (size_t i = 0; i < resolved.files.size(); ++i) {
    auto model = load_shared_htdemucs(resolved.files[i], device, precision);
    result.bag.push_back({model, resolved.weights[i]});
  }
  if (result.bag.empty()) {
    throw std::invalid_argument("model " + spec + " has no member for stems '" + joined_with_commas(stems) + "'");
  }
  const SegmentModel& first = *result.bag.front().model;
  result.sources = first.sources();
  if (known == nullptr) {
    plan_stems(result, stems, result.sources, result.name);
  }
  result.stem = joined_with_commas(result.stems);
  result.samplerate = first.samplerate();
  result.audio_channels = first.audio_channels();
  result.segment_seconds = first.segment_seconds();
  for (const auto& member : result.bag) {
    result.segment_seconds = std::min(result.segment_seconds, member.model->segment_seconds());
  }
  return result;
}

}  // namespace demucs
