#include "models_command.h"

#include "command_line.h"

#include "demucs/demucs.h"

#include <cstdio>
#include <string>

namespace demucs {

namespace {

// "cached", "not cached", "2 of 4 files cached", with "damaged" when a file fails its hash check.
std::string cache_state(const KnownModel &model, const ModelCache &cache) {
  std::size_t verified = 0;
  std::size_t damaged = 0;
  for (const ModelFile &file : model.files) {
    const CachedFileState state = cache.state_of(file);
    if (state == CachedFileState::verified) ++verified;
    if (state == CachedFileState::wrong_hash) ++damaged;
  }
  std::string text;
  if (verified == model.files.size())
    text = "cached";
  else if (verified == 0)
    text = "not cached";
  else
    text = std::to_string(verified) + " of " + std::to_string(model.files.size()) + " files cached";
  if (damaged > 0) text += ", " + std::to_string(damaged) + " damaged";
  return text;
}

// Whether any file of `model` has no published checksum (trusted on first download).
bool trusted_on_first_use(const KnownModel &model) {
  for (const ModelFile &file : model.files)
    if (file.sha256_prefix.empty()) return true;
  return false;
}

std::string joined(const std::vector<std::string> &words) {
  std::string text;
  for (const std::string &word : words) text += (text.empty() ? "" : " ") + word;
  return text;
}

int run_models(int argc, char **argv) {
  if (!parse_command_line(argc, argv, nullptr, "",
                          "List the known models and whether they are in the model cache.\n"
                          "Cached files are checked against their sha256, so this reads them.",
                          nullptr))
    return kUsageExitStatus;
  if (argc > 1) {
    std::fprintf(stderr, "%s: takes no arguments\n", argv[0]);
    return kUsageExitStatus;
  }

  const ModelCache cache = ModelCache::from_environment();
  std::printf("Model cache: %s\n\n", cache.folder().c_str());
  for (const KnownModel &model : known_models()) {
    std::printf("%-12s %-26s %s\n", model.name.c_str(), cache_state(model, cache).c_str(),
                model.description.c_str());
    std::printf("%-12s %-26s sources: %s\n", "", "", joined(model.sources).c_str());
    if (trusted_on_first_use(model))
      std::printf("%-12s %-26s checksum: none published; the first download's sha256 is recorded "
                  "(FILE.sha256 in the cache) and later uses are checked against it\n",
                  "", "");
  }
  std::printf("\nDownload one with: demucs-vocals fetch NAME\n");
  return 0;
}

}  // namespace

Command models_command() {
  return Command{"models", "", "list the known models and whether they are cached", run_models};
}

}  // namespace demucs
