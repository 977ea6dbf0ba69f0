#include "registry/model_registry.h"

#include <cstdlib>
#include <stdexcept>

namespace demucs {

namespace {

// demucs/remote/files.txt puts the Hybrid Transformer checkpoints under this root.
constexpr const char *kHybridTransformerFolder = "hybrid_transformer/";

const std::vector<std::string> kFourSources = {"drums", "bass", "other", "vocals"};
const std::vector<std::string> kSixSources = {"drums", "bass", "other", "vocals", "guitar", "piano"};

ModelFile hybrid_transformer_file(const std::string &file_name) {
  return ModelFile{file_name, kHybridTransformerFolder + file_name,
                   sha256_prefix_in_file_name(file_name)};
}

std::vector<std::vector<double>> all_ones(std::size_t members, std::size_t sources) {
  return std::vector<std::vector<double>>(members, std::vector<double>(sources, 1.0));
}

std::vector<KnownModel> build_known_models() {
  std::vector<KnownModel> models;

  // demucs/remote/htdemucs.yaml: models: ['955717e8']
  models.push_back(KnownModel{
      "htdemucs", "Hybrid Transformer Demucs v4, 4 sources (default)", kFourSources,
      {hybrid_transformer_file("955717e8-8726e21a.th")}, all_ones(1, kFourSources.size())});

  // demucs/remote/htdemucs_ft.yaml: four fine-tuned models, one per source.
  models.push_back(KnownModel{
      "htdemucs_ft", "htdemucs fine-tuned per source: a bag of 4 models, 4x slower, a bit better",
      kFourSources,
      {hybrid_transformer_file("f7e0c4bc-ba3fe64a.th"),
       hybrid_transformer_file("d12395a8-e57c48e6.th"),
       hybrid_transformer_file("92cfc3b6-ef3bcb9c.th"),
       hybrid_transformer_file("04573f0d-f3cf25b2.th")},
      {{1., 0., 0., 0.}, {0., 1., 0., 0.}, {0., 0., 1., 0.}, {0., 0., 0., 1.}}});

  // demucs/remote/htdemucs_6s.yaml: models: ['5c90dfd2']
  models.push_back(KnownModel{
      "htdemucs_6s", "experimental 6 sources: adds guitar and piano", kSixSources,
      {hybrid_transformer_file("5c90dfd2-34c22ccb.th")}, all_ones(1, kSixSources.size())});

  return models;
}

}  // namespace

std::string ModelFile::url_under(const std::string &root) const { return root + remote_path; }

std::string ModelFile::url() const { return url_under(model_download_root()); }

std::string model_download_root() {
  const char *value = std::getenv(kModelRootEnvVar);
  if (value == nullptr || *value == '\0') return kOfficialModelRoot;
  std::string root = value;
  if (root.back() != '/') root += '/';
  return root;
}

std::string sha256_prefix_in_file_name(const std::string &file_name) {
  const std::string::size_type dot = file_name.rfind('.');
  const std::string stem = dot == std::string::npos ? file_name : file_name.substr(0, dot);
  const std::string::size_type dash = stem.rfind('-');
  if (dash == std::string::npos) return "";
  return stem.substr(dash + 1);
}

const std::vector<KnownModel> &known_models() {
  static const std::vector<KnownModel> models = build_known_models();
  return models;
}

const KnownModel *find_known_model(const std::string &name) {
  for (const KnownModel &model : known_models())
    if (model.name == name) return &model;
  return nullptr;
}

std::string known_model_names() {
  std::string names;
  for (const KnownModel &model : known_models()) {
    if (!names.empty()) names += ", ";
    names += model.name;
  }
  return names;
}

std::size_t source_index(const KnownModel &model, const std::string &source) {
  for (std::size_t i = 0; i < model.sources.size(); ++i)
    if (model.sources[i] == source) return i;
  std::string sources;
  for (const std::string &name : model.sources) sources += (sources.empty() ? "" : ", ") + name;
  throw std::invalid_argument("model " + model.name + " has no source \"" + source +
                              "\"; its sources are: " + sources);
}

std::vector<std::size_t> members_needed(const KnownModel &model,
                                        const std::vector<std::string> &stems) {
  std::vector<std::size_t> wanted_sources;
  if (stems.empty()) {
    for (std::size_t i = 0; i < model.sources.size(); ++i) wanted_sources.push_back(i);
  } else {
    for (const std::string &stem : stems) wanted_sources.push_back(source_index(model, stem));
  }

  std::vector<std::size_t> members;
  for (std::size_t member = 0; member < model.files.size(); ++member) {
    for (std::size_t source : wanted_sources) {
      if (model.weights.at(member).at(source) != 0.0) {
        members.push_back(member);
        break;
      }
    }
  }
  return members;
}

}  // namespace demucs
