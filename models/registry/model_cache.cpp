#include "registry/model_cache.h"

#include "registry/file_sha256.h"

#include <glib.h>

#include <utility>

namespace demucs {

namespace {

constexpr const char *kCacheSubfolder = "demucs-vocals";

bool has_suffix(const std::string &text, const std::string &suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

ResolvedModel resolve_checkpoint_path(const std::string &path) {
  if (!g_file_test(path.c_str(), G_FILE_TEST_EXISTS))
    throw ModelNotFoundError("model file " + path + " does not exist");
  if (!g_file_test(path.c_str(), G_FILE_TEST_IS_REGULAR))
    throw ModelNotFoundError("model file " + path + " is not a regular file");
  return ResolvedModel{path, {path}, {{}}, {}};
}

}  // namespace

std::string default_model_cache_folder() {
  const char *value = g_getenv(kModelCacheEnvVar);
  if (value != nullptr && *value != '\0') return value;
  gchar *folder = g_build_filename(g_get_user_cache_dir(), kCacheSubfolder, nullptr);
  std::string result = folder;
  g_free(folder);
  return result;
}

ModelCache::ModelCache(std::string folder) : folder_(std::move(folder)) {}

ModelCache ModelCache::from_environment() { return ModelCache(default_model_cache_folder()); }

std::string ModelCache::path_of(const ModelFile &file) const {
  gchar *path = g_build_filename(folder_.c_str(), file.file_name.c_str(), nullptr);
  std::string result = path;
  g_free(path);
  return result;
}

CachedFileState ModelCache::state_of(const ModelFile &file) const {
  const std::string path = path_of(file);
  if (!g_file_test(path.c_str(), G_FILE_TEST_IS_REGULAR)) return CachedFileState::missing;
  return file_has_sha256_prefix(path, file.sha256_prefix) ? CachedFileState::verified
                                                          : CachedFileState::wrong_hash;
}

ResolvedModel ModelCache::resolve(const std::string &spec,
                                  const std::vector<std::string> &stems) const {
  if (g_file_test(spec.c_str(), G_FILE_TEST_IS_REGULAR) || has_suffix(spec, ".th"))
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
