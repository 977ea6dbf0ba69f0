#include "registry/model_cache.h"

#include "registry/file_sha256.h"

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
  return ResolvedModel{path, {path}, {{}}, {}};
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

CachedFileState ModelCache::state_of(const ModelFile &file) const {
  const std::string path = path_of(file);
  if (!is_regular_file(path)) return CachedFileState::missing;
  return file_has_sha256_prefix(path, file.sha256_prefix) ? CachedFileState::verified
                                                          : CachedFileState::wrong_hash;
}

ResolvedModel ModelCache::resolve(const std::string &spec,
                                  const std::vector<std::string> &stems) const {
  if (is_regular_file(spec) || has_suffix(spec, ".th"))
    return resolve_checkpoint_path(spec);

  if (const KnownModel *model = find_known_model(spec)) return resolve_known(*model, stems);

  throw UnknownModelError("unknown model \"" + spec + "\": the known models are " +
                          known_model_names() + "; or give the path of a .th checkpoint file");
}

ResolvedModel ModelCache::resolve_known(const KnownModel &model,
                                        const std::vector<std::string> &stems) const {
  ResolvedModel resolved{model.name, {}, {}, model.sources};
  std::string problems;
  std::string urls;
  for (std::size_t member : members_needed(model, stems)) {
    const ModelFile &file = model.files[member];
    const CachedFileState state = state_of(file);
    if (state == CachedFileState::missing) problems += "  " + file.file_name + " is missing\n";
    if (state == CachedFileState::wrong_hash)
      problems += "  " + file.file_name +
                  " is damaged or incomplete (its sha256 does not start with " + file.sha256_prefix +
                  ")\n";
    if (state != CachedFileState::verified) urls += "  " + file.url() + "\n";
    resolved.files.push_back(path_of(file));
    resolved.weights.push_back(model.weights[member]);
  }

  if (!problems.empty()) {
    throw ModelNotFoundError("model " + model.name + " is not ready in the model cache " + folder_ +
                             ":\n" + problems + "Download it with:\n  demucs-vocals fetch " +
                             model.name + "\nor download by hand into " + folder_ + ":\n" + urls);
  }
  return resolved;
}

}  // namespace demucs
