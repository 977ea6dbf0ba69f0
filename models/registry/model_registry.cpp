#include "registry/model_registry.h"

#include <cstdlib>
#include <stdexcept>
#include <utility>

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

// Where the community RoFormer files are published (ZFTurbo
// Music-Source-Separation-Training docs/pretrained_models.md).
constexpr const char *kGithubRoot = "https://github.com/";
constexpr const char *kHuggingFaceRoot = "https://huggingface.co/";
constexpr const char *kGithubRawRoot = "https://raw.githubusercontent.com/";
// The UVR model repository's release that holds the viperx checkpoints.
constexpr const char *kUvrModels = "TRvlvr/model_repo/releases/download/all_public_uvr_models/";
// The YAML configurations, at the reference commit our fixtures come from (the
// docs link the moving `main`); being fixed, their sha256 is known here.
constexpr const char *kReferenceConfigs =
    "ZFTurbo/Music-Source-Separation-Training/ccc011abf7f89dd7922bb2888d48493b575c0289/configs/";

// A checkpoint whose publisher gives no checksum: trusted on first download
// (ModelFile::sha256_prefix).
ModelFile unverified_checkpoint(const std::string &root, const std::string &remote_path) {
  const std::string file_name = remote_path.substr(remote_path.rfind('/') + 1);
  return ModelFile{file_name, remote_path, "", root};
}

ModelFile reference_config(const std::string &path_in_configs, const std::string &sha256) {
  const std::string file_name = path_in_configs.substr(path_in_configs.rfind('/') + 1);
  return ModelFile{file_name, kReferenceConfigs + path_in_configs, sha256, kGithubRawRoot};
}

KnownModel roformer_model(const std::string &name, const std::string &description, const std::string &source,
                          ModelFile checkpoint, ModelFile config) {
  return KnownModel{name, description, {source}, {std::move(checkpoint), std::move(config)}, all_ones(1, 1),
                    ModelArchitecture::roformer};
}

// The popular single-target RoFormer checkpoints of the community (vocals SDR
// on MVSep multisong as docs/pretrained_models.md gives them).
void add_roformer_models(std::vector<KnownModel> &models) {
  models.push_back(roformer_model(
      "bs_roformer_317", "BS-RoFormer by viperx (ep 317), vocals SDR 10.87; python-audio-separator's default",
      "vocals", unverified_checkpoint(kGithubRoot, std::string(kUvrModels) + "model_bs_roformer_ep_317_sdr_12.9755.ckpt"),
      reference_config("viperx/model_bs_roformer_ep_317_sdr_12.9755.yaml",
                       "42e5635ceab7287b83d9591c9880966f0b61cff26a0a40a29d236bacb32e5f2c")));
  models.push_back(roformer_model(
      "mel_roformer_kj", "Mel-Band RoFormer by Kimberley Jensen, vocals SDR 10.98", "vocals",
      unverified_checkpoint(kHuggingFaceRoot, "KimberleyJSN/melbandroformer/resolve/main/MelBandRoformer.ckpt"),
      reference_config("KimberleyJensen/config_vocals_mel_band_roformer_kj.yaml",
                       "f63f38eb1e6e40a7db0dade714a5ae257555dd8748f4e774eae8679275a81926")));
  models.push_back(roformer_model(
      "mel_roformer_3005", "Mel-Band RoFormer by viperx (ep 3005), vocals SDR 9.67", "vocals",
      unverified_checkpoint(kGithubRoot,
                            std::string(kUvrModels) + "model_mel_band_roformer_ep_3005_sdr_11.4360.ckpt"),
      reference_config("viperx/model_mel_band_roformer_ep_3005_sdr_11.4360.yaml",
                       "4e0a24c9078b007caeea94efaad78ed4f29d4f44a80a6aefc4295bff09490314")));
  models.push_back(roformer_model(
      "bs_roformer_937", "BS-RoFormer by viperx (ep 937): the instrumental (\"other\"), SDR 6.85", "other",
      unverified_checkpoint(kGithubRoot, std::string(kUvrModels) + "model_bs_roformer_ep_937_sdr_10.5309.ckpt"),
      reference_config("viperx/model_bs_roformer_ep_937_sdr_10.5309.yaml",
                       "c9ff80f71867e9b7df08722c3a08a564c68cffcfe1c2c32a004b8153456f8951")));
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

  add_roformer_models(models);
  return models;
}

}  // namespace

std::string ModelFile::url_under(const std::string &root) const { return root + remote_path; }

std::string ModelFile::url() const {
  const char *mirror = std::getenv(kModelRootEnvVar);
  const bool mirrored = mirror != nullptr && *mirror != '\0';
  return url_under(root.empty() || mirrored ? model_download_root() : root);
}

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
  // One weights row per member; a RoFormer's configuration file has none.
  for (std::size_t member = 0; member < model.weights.size(); ++member) {
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
