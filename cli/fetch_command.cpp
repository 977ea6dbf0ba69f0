#include "fetch_command.h"

#include "command_line.h"
#include "download_progress_bar.h"
#include "interrupt_cancellation.h"

#include "demucs/demucs.h"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace demucs {

namespace {

// Exit status after Ctrl-C, as shells report a process killed by SIGINT.
constexpr int kInterruptedExitStatus = 130;

std::string file_label(const KnownModel &model, std::size_t index) {
  std::string label = model.name;
  if (model.files.size() > 1)
    label += " " + std::to_string(index + 1) + "/" + std::to_string(model.files.size());
  return label + " " + model.files[index].file_name;
}

// Downloads what the cache lacks of `model`; prints per file. Throws DownloadError.
void fetch_model(const KnownModel &model, const ModelCache &cache, bool show_progress,
                 GCancellable *cancellable) {
  const bool terminal = isatty(fileno(stderr)) != 0;
  for (std::size_t i = 0; i < model.files.size(); ++i) {
    const std::string label = file_label(model, i);
    DownloadProgressBar bar(label, stderr, terminal);
    DownloadProgress progress;
    if (show_progress)
      progress = [&bar](std::int64_t done, std::int64_t total) { bar.update(done, total); };

    FetchOutcome outcome;
    try {
      outcome = fetch_model_file(cache, model.files[i], progress, cancellable);
    } catch (...) {
      bar.finish();
      throw;
    }
    bar.finish();
    std::printf("%s: %s\n", label.c_str(),
                outcome == FetchOutcome::downloaded ? "downloaded and verified"
                                                    : "already in the cache, verified");
    std::fflush(stdout);
  }
  std::printf("%s: ready in %s\n", model.name.c_str(), cache.folder().c_str());
}

int run_fetch(int argc, char **argv) {
  gboolean quiet = FALSE;
  const GOptionEntry entries[] = {
      {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Show no progress bar", nullptr},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
  };
  const ModelCache cache = ModelCache::from_environment();
  const std::string description =
      "Known models: " + known_model_names() + ".\n" +
      "Demucs's files are downloaded from " + model_download_root() +
      ", the RoFormer ones from their publishers\n(set " + kModelRootEnvVar +
      " to use a mirror for all) into the cache folder " + cache.folder() + " (set " +
      kModelCacheEnvVar + " to use another).\n" +
      "Each file enters the cache only once its sha256 matches the one published (in the\n"
      "name of Demucs's files). The community RoFormer checkpoints have none published: the\n"
      "sha256 of their first download is recorded beside them (FILE.sha256) and checked later.";
  if (!parse_command_line(argc, argv, entries, "MODEL...", "Download models into the model cache.",
                          description.c_str()))
    return kUsageExitStatus;

  if (argc < 2) {
    std::fprintf(stderr, "%s: name the models to fetch; the known models are %s\n", argv[0],
                 known_model_names().c_str());
    return kUsageExitStatus;
  }
  std::vector<const KnownModel *> models;
  for (int i = 1; i < argc; ++i) {
    const KnownModel *model = find_known_model(argv[i]);
    if (model == nullptr) {
      std::fprintf(stderr, "%s: unknown model \"%s\"; the known models are %s\n", argv[0], argv[i],
                   known_model_names().c_str());
      return 1;
    }
    models.push_back(model);
  }

  GCancellable *cancellable = cancel_on_interrupt();
  try {
    for (const KnownModel *model : models) fetch_model(*model, cache, !quiet, cancellable);
  } catch (const std::exception &error) {
    if (g_cancellable_is_cancelled(cancellable)) {
      std::fprintf(stderr, "%s: interrupted; nothing partial was left in %s\n", argv[0],
                   cache.folder().c_str());
      return kInterruptedExitStatus;
    }
    std::fprintf(stderr, "%s: %s\n", argv[0], error.what());
    return 1;
  }
  return 0;
}

}  // namespace

Command fetch_command() {
  return Command{"fetch", "MODEL...", "download models into the model cache", run_fetch};
}

}  // namespace demucs
