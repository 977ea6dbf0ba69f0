// The registry of known pretrained models: the official HTDemucs checkpoints,
// where upstream Demucs publishes them, their sha256 prefixes and bag weights.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace demucs {

/// Where upstream Demucs publishes its checkpoints (demucs/pretrained.py ROOT_URL).
inline constexpr const char *kOfficialModelRoot = "https://dl.fbaipublicfiles.com/demucs/";

/// Environment variable that replaces kOfficialModelRoot (a mirror, or a local
/// server in tests). The files keep their paths below it.
inline constexpr const char *kModelRootEnvVar = "DEMUCS_VOCALS_MODEL_URL";

/// One checkpoint file of a known model.
struct ModelFile {
  std::string file_name;      ///< "955717e8-8726e21a.th": the name in the cache
  std::string remote_path;    ///< "hybrid_transformer/955717e8-8726e21a.th": below the root URL
  std::string sha256_prefix;  ///< "8726e21a": the file's sha256 must start with it

  /// The download URL below `root` (which should end with '/').
  std::string url_under(const std::string &root) const;
  /// The download URL below model_download_root().
  std::string url() const;
};

/// A known model: one checkpoint, or a bag of them whose outputs are mixed per source.
struct KnownModel {
  std::string name;                 ///< "htdemucs_ft"
  std::string description;          ///< one line for listings
  std::vector<std::string> sources; ///< output order, e.g. drums bass other vocals
  std::vector<ModelFile> files;     ///< the member checkpoints, in bag order
  /// weights[member][source]; upstream BagOfModels uses all ones when the yaml has none.
  std::vector<std::vector<double>> weights;
};

/// The root URL downloads come from: $DEMUCS_VOCALS_MODEL_URL if set and not
/// empty (a '/' is appended when missing), else kOfficialModelRoot.
std::string model_download_root();

/// The sha256 prefix that a checkpoint file name carries, as torch.hub's
/// check_hash reads it: the part after the last '-' and before the extension
/// ("955717e8-8726e21a.th" -> "8726e21a"). Empty if the name carries none.
std::string sha256_prefix_in_file_name(const std::string &file_name);

/// All known models, in the order listings show them (htdemucs first: the default).
const std::vector<KnownModel> &known_models();

/// The known model called `name`, or nullptr.
const KnownModel *find_known_model(const std::string &name);

/// The known model names joined by ", " (for error messages).
std::string known_model_names();

/// Index of `source` in model.sources; throws std::invalid_argument naming the
/// model's sources if it has none of that name.
std::size_t source_index(const KnownModel &model, const std::string &source);

/// The members (indices into model.files) that contribute to any of `stems`:
/// those whose weight is non-zero for at least one of them. An empty `stems`
/// means all sources, so every member with a non-zero weight. Throws
/// std::invalid_argument for a stem that is not one of the model's sources.
std::vector<std::size_t> members_needed(const KnownModel &model,
                                        const std::vector<std::string> &stems);

}  // namespace demucs
