#include "registry/model_cache.h"

#include "registry/file_sha256.h"
#include "registry/recorded_sha256.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

namespace demucs {

namespace {

constexpr const char *kCacheSubfolder = "demucs-vocals";

bool has_suffix(const std::string &text, const std::string &suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// What g_file_test(G_FILE_TEST_IS_REGULAR) says: a regular file, links followed.
bool is_regular_file(const std::string &path) {
  std::error_code error;
  return std::filesystem::is_regular_file(path, error);
}

bool exists(const std::string &path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

// What GLib's g_get_user_cache_dir() gives: $XDG_CACHE_HOME if set and not
// empty, else ~/.cache.
std::string user_cache_folder() {
  const char *xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && *xdg != '\0') return xdg;
  const char *home = std::getenv("HOME");
  return std::string(home != nullptr && *home != '\0' ? home : "/tmp") + "/.cache";
}

std::string joined_path(const std::string &folder, const std::string &name) {
  return (std::filesystem::path(folder) / name).string();
}

ResolvedModel resolve_checkpoint_path(const std::string &path) {
  if (!exists(path))
    throw ModelNotFoundError("model file " + path + " does not exist");
  if (!is_regular_file(path))
    throw ModelNotFoundError("model file " + path + " is not a regular file");
  ResolvedModel resolved{path, {path}, {{}}, {}};
  // The community RoFormer checkpoints are .ckpt files; Demucs's are .th.
  if (has_suffix(path, ".ckpt")) resolved.architecture = ModelArchitecture::roformer;
  return resolved;
}

// Why a cached file failed its check, for the resolve error.
std::string damage_reason(const ModelFile &file, const std::string &expected) {
  if (!file.sha256_prefix.empty())
    return "its sha256 does not start with " + file.sha256_prefix;
  return "its sha256 is not the " + expected.substr(0, 16) + "... recorded in " + file.file_name +
         ".sha256 when it was first downloaded; delete both files to download and trust it anew";
}

}  // namespace

std::string default_model_cache_folder() {
  const char *value = std::getenv(kModelCacheEnvVar);
  if (value != nullptr && *value != '\0') return value;
  return joined_path(user_cache_folder(), kCacheSubfolder);
}

ModelCache::ModelCache(std::string folder) : folder_(std::move(folder)) {}

ModelCache ModelCache::from_environment() { return ModelCache(default_model_cache_folder()); }

std::string ModelCache::path_of(const ModelFile &file) const {
  return joined_path(folder_, file.file_name);
}

std::string ModelCache::expected_sha256(const ModelFile &file) const {
  if (!file.sha256_prefix.empty()) return file.sha256_prefix;
  return read_recorded_sha256(path_of(file));
}

CachedFileState ModelCache::state_of(const ModelFile &file) const {
  const std::string path = path_of(file);
  if (!is_regular_file(path)) return CachedFileState::missing;
  const std::string expected = expected_sha256(file);
  if (expected.empty()) {
    // No published checksum and no record (a file put there by hand): trust
    // it now, and record what it is so that later damage shows. A cache we
    // cannot write to keeps it trusted without a record.
    try {
      record_sha256(path, file_sha256_hex(path));
    } catch (const std::exception &) {
    }
    return CachedFileState::verified;
  }
  return file_has_sha256_prefix(path, expected) ? CachedFileState::verified : CachedFileState::wrong_hash;
}

ResolvedModel ModelCache::resolve(const std::string &spec,
                                  const std::vector<std::string> &stems) const {
  if (is_regular_file(spec) || has_suffix(spec, ".th") || has_suffix(spec, ".ckpt"))
    return resolve_checkpoint_path(spec);

  if (const KnownModel *model = find_known_model(spec)) return resolve_known(*model, stems);

  throw UnknownModelError("unknown model \"" + spec + "\": the known models are " +
                          known_model_names() + "; or give the path of a checkpoint file (.th, or .ckpt with its .yaml)");
}

ResolvedModel ModelCache::resolve_known(const KnownModel &model,
                                        const std::vector<std::string> &stems) const {
  ResolvedModel resolved{model.name, {}, {}, model.sources};
  resolved.architecture = model.architecture;
  std::vector<std::size_t> to_check = members_needed(model, stems);
  for (std::size_t member : to_check) {
    resolved.files.push_back(path_of(model.files[member]));
    resolved.weights.push_back(model.weights[member]);
  }
  // A RoFormer's configuration (files[1]) comes with its checkpoint.
  if (model.architecture == ModelArchitecture::roformer && !to_check.empty()) {
    resolved.config = path_of(model.files.at(1));
    to_check.push_back(1);
  }

  std::string problems;
  std::string urls;
  for (std::size_t index : to_check) {
    const ModelFile &file = model.files[index];
    const CachedFileState state = state_of(file);
    if (state == CachedFileState::missing) problems += "  " + file.file_name + " is missing\n";
    if (state == CachedFileState::wrong_hash)
      problems += "  " + file.file_name + " is damaged or incomplete (" +
                  damage_reason(file, expected_sha256(file)) + ")\n";
    if (state != CachedFileState::verified) urls += "  " + file.url() + "\n";
  }

  if (!problems.empty()) {
    throw ModelNotFoundError("model " + model.name + " is not ready in the model cache " + folder_ +
                             ":\n" + problems + "Download it with:\n  demucs-vocals fetch " +
                             model.name + "\nor download by hand into " + folder_ + ":\n" + urls);
  }
  return resolved;
}

}  // namespace demucs
