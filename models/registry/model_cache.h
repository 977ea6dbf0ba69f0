// The local model cache: the folder that holds downloaded checkpoints, and the
// resolution of a model spec (a known name or a .th path) to verified files.
#pragma once

#include "registry/model_registry.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace demucs {

/// Environment variable that chooses the cache folder.
inline constexpr const char *kModelCacheEnvVar = "DEMUCS_VOCALS_CACHE";

/// A model cannot be used: a missing checkpoint path, or a known model whose
/// files are missing from the cache or damaged. The message says what to do.
class ModelNotFoundError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A spec that is neither a file nor a known model name; the message lists the known names.
class UnknownModelError : public ModelNotFoundError {
 public:
  using ModelNotFoundError::ModelNotFoundError;
};

/// The checkpoint files to load for a model spec, and how to mix their outputs.
struct ResolvedModel {
  std::string name;                ///< the known name, or the path as given
  std::vector<std::string> files;  ///< checkpoint paths, in bag order
  /// weights[i][source] for files[i]; an empty row means "1 for every source"
  /// (a checkpoint given by path, whose sources only its kwargs know).
  std::vector<std::vector<double>> weights;
  /// The known model's sources; empty for a path (read them from the checkpoint).
  std::vector<std::string> sources;
};

/// What the cache holds of one model file.
enum class CachedFileState {
  missing,     ///< no file of that name
  verified,    ///< present, and its sha256 starts with the expected prefix
  wrong_hash,  ///< present but damaged or not the published file
};

/// The cache folder: $DEMUCS_VOCALS_CACHE if set and not empty, else
/// g_get_user_cache_dir()/demucs-vocals (~/.cache/demucs-vocals).
std::string default_model_cache_folder();

/// A cache folder of checkpoints, named as upstream names them.
class ModelCache {
 public:
  explicit ModelCache(std::string folder);

  /// The cache at default_model_cache_folder().
  static ModelCache from_environment();

  const std::string &folder() const { return folder_; }

  /// Where `file` lives (or would live) in this cache.
  std::string path_of(const ModelFile &file) const;

  /// Checks the cached copy of `file` against its sha256 prefix (reads it all).
  CachedFileState state_of(const ModelFile &file) const;

  /// Resolves a model spec:
  /// - an existing regular file, or a spec ending in ".th": that checkpoint, as is
  ///   (ModelNotFoundError naming the path if it does not exist);
  /// - a known model name: its cached files, each verified against its sha256
  ///   prefix. `stems` (source names) limits the bag to the members needed for
  ///   them (members_needed); empty means all members. ("instrumental" is not a
  ///   source: callers ask for "vocals" and subtract.) A missing or damaged file
  ///   is a ModelNotFoundError naming the model, the URLs, this folder and the
  ///   `demucs-vocals fetch` command; a stem the model lacks is std::invalid_argument;
  /// - anything else: UnknownModelError listing the known names.
  ResolvedModel resolve(const std::string &spec, const std::vector<std::string> &stems = {}) const;

 private:
  ResolvedModel resolve_known(const KnownModel &model, const std::vector<std::string> &stems) const;

  std::string folder_;
};

}  // namespace demucs
