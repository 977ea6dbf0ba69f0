#include "separate_command.h"

#include "command_line.h"
#include "interrupt_cancellation.h"
#include "separation_progress_bar.h"

#include "demucs_plugin_location.h"
#include "separation_pipeline.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace demucs {

namespace {

// Exit status after Ctrl-C, as shells report a process killed by SIGINT.
constexpr int kInterruptedExitStatus = 130;
// "Not given" for the numeric options (GOptionContext leaves unset ones alone).
constexpr int kIntegerNotGiven = INT_MIN;

constexpr const char *kDescription =
    "The input is anything GStreamer decodes (mp3, wav, flac, ogg, m4a, ...).\n"
    "The output format comes from the output's extension (.wav, .flac, .mp3)\n"
    "unless --format says otherwise. The output file appears only once complete.\n"
    "\n"
    "Models: a known name (htdemucs, htdemucs_ft, ...; fetch it first with\n"
    "'demucs-vocals fetch NAME'), the path of a Demucs .th checkpoint, or the\n"
    "path of a BS-RoFormer / Mel-Band RoFormer .ckpt with its YAML (--config;\n"
    "by default the .yaml beside the .ckpt). For a RoFormer vocals model the\n"
    "stems are vocals and instrumental (the mix minus the vocals).\n"
    "Stems: vocals (default), instrumental (everything but the vocals), or any\n"
    "source of the model (drums, bass, other, ...). Several stems, or 'all'\n"
    "(every source of the model and the instrumental), come from one pass and\n"
    "go to -o FOLDER as FOLDER/<input name>_<stem>.<format> (wav unless --format).\n"
    "\n"
    "Examples:\n"
    "  demucs-vocals separate song.mp3 -o vocals.wav\n"
    "  demucs-vocals song.mp3 -o karaoke.flac --stem instrumental\n"
    "  demucs-vocals song.mp3 -o vocals.wav --device cuda --precision fp16 --batch-size 8\n"
    "  demucs-vocals separate song.mp3 --stem all -o stems/\n"
    "  demucs-vocals separate song.mp3 --stems vocals,instrumental -o stems/ --format flac\n"
    "  demucs-vocals separate song.mp3 -o vocals.wav --model bs_roformer.ckpt --config bs_roformer.yaml";

std::string base_name(const std::string &path) {
  gchar *name = g_path_get_basename(path.c_str());
  std::string text = name;
  g_free(name);
  return text;
}

int run_separate(int argc, char **argv) {
  gchar *output = nullptr;
  gchar *format_name = nullptr;
  gchar *stem = nullptr;
  gchar *stems = nullptr;
  gchar *model = nullptr;
  gchar *config = nullptr;
  gchar *device = nullptr;
  gchar *precision = nullptr;
  double segment = NAN;
  double overlap = NAN;
  gint shifts = kIntegerNotGiven;
  gint threads = kIntegerNotGiven;
  gint batch_size = kIntegerNotGiven;
  gint64 seed = -1;
  gboolean quiet = FALSE;
  const GOptionEntry entries[] = {
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
       "Write the stem to FILE (required); several stems go to the FOLDER", "FILE|FOLDER"},
      {"stem", 's', 0, G_OPTION_ARG_STRING, &stem,
       "vocals (default), instrumental, a source of the model, or all (every stem, into -o FOLDER)", "STEM"},
      {"stems", 0, 0, G_OPTION_ARG_STRING, &stems, "Several stems from one pass, into -o FOLDER",
       "STEM,STEM,..."}, 
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
       "A known model (default htdemucs), a Demucs .th file or a RoFormer .ckpt file", "NAME|FILE"},
      {"config", 0, 0, G_OPTION_ARG_FILENAME, &config,
       "The YAML configuration of a RoFormer .ckpt model (default: the .yaml beside it)", "FILE"},
      {"device", 'd', 0, G_OPTION_ARG_STRING, &device, "Where the network runs (default auto)",
       "auto|cpu|cuda"},
      {"precision", 0, 0, G_OPTION_ARG_STRING, &precision,
       "Precision of the network (default fp32; fp16 needs CUDA; bf16 runs on CUDA or, slowly, on the CPU)",
       "fp32|fp16|bf16"},
      {"format", 'f', 0, G_OPTION_ARG_STRING, &format_name, "Output format (default: from FILE's extension)",
       "wav|flac|mp3"},
      {"segment", 0, 0, G_OPTION_ARG_DOUBLE, &segment, "Seconds per chunk (default: the model's)", "SECONDS"},
      {"overlap", 0, 0, G_OPTION_ARG_DOUBLE, &overlap,
       "Overlap of chunks, 0 to 1 (default 0.25; a RoFormer model: its config's num_overlap)", "FRACTION"},
      {"shifts", 0, 0, G_OPTION_ARG_INT, &shifts, "Random time shifts averaged (default 0)", "N"},
      {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the shifts", "N"},
      {"threads", 'j', 0, G_OPTION_ARG_INT, &threads, "CPU threads (default: all cores)", "N"},
      {"batch-size", 0, 0, G_OPTION_ARG_INT, &batch_size, "Chunks run at once", "N"},
      {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Show no progress bar", nullptr},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
  };
  const bool parsed = parse_command_line(argc, argv, entries, "INPUT -o OUTPUT",
                                         "Separate one stem (the vocals by default) of an audio file.",
                                         kDescription);
  SeparationSettings settings;
  auto take = [](gchar *&text) {
    std::string value = text != nullptr ? text : "";
    g_free(text);
    text = nullptr;
    return value;
  };
  settings.output_path = take(output);
  const std::string format_text = take(format_name);
  settings.stem = take(stem);
  const std::string stems_text = take(stems);
  settings.model = take(model);
  settings.config = take(config);
  settings.device = take(device);
  settings.precision = take(precision);
  if (!parsed) return kUsageExitStatus;

  if (argc != 2) {
    std::fprintf(stderr, "%s: %s\nRun '%s --help' for its options.\n", argv[0],
                 argc < 2 ? "name the audio file to separate" : "separates one file at a time", argv[0]);
    return kUsageExitStatus;
  }
  settings.input_path = argv[1];
  if (settings.output_path.empty()) {
    std::fprintf(stderr, "%s: name the output file with -o FILE\n", argv[0]);
    return kUsageExitStatus;
  }
  // Several stems: --stems, or --stem all / a comma list.
  const std::vector<std::string> stem_list =
      parse_stem_list(!stems_text.empty() ? stems_text : settings.stem);
  const bool several = !stems_text.empty() || stem_list.size() > 1 || (stem_list.size() == 1 && stem_list[0] == "all");
  if (several) {
    settings.stems = stem_list;
    settings.output_folder = settings.output_path;
    settings.output_path.clear();
    if (g_mkdir_with_parents(settings.output_folder.c_str(), 0755) != 0) {
      std::fprintf(stderr, "%s: cannot create the folder %s: %s\n", argv[0], settings.output_folder.c_str(),
                   g_strerror(errno));
      return 1;
    }
  }
  const std::optional<OutputFormat> format =
      format_text.empty() ? (several ? std::optional<OutputFormat>(OutputFormat::wav)
                                     : output_format_from_path(settings.output_path))
                          : output_format_from_name(format_text);
  if (!format) {
    if (format_text.empty())
      std::fprintf(stderr, "%s: cannot tell the format from the name %s; use --format (%s)\n", argv[0],
                   settings.output_path.c_str(), output_format_names());
    else
      std::fprintf(stderr, "%s: unknown format \"%s\"; the formats are %s\n", argv[0], format_text.c_str(),
                   output_format_names());
    return kUsageExitStatus;
  }
  settings.format = *format;
  if (!std::isnan(segment)) settings.segment = segment;
  if (!std::isnan(overlap)) settings.overlap = overlap;
  if (shifts != kIntegerNotGiven) settings.shifts = shifts;
  if (threads != kIntegerNotGiven) settings.threads = threads;
  if (batch_size != kIntegerNotGiven) settings.batch_size = batch_size;
  if (seed >= 0) settings.seed = static_cast<std::uint64_t>(seed);

  GCancellable *cancellable = cancel_on_interrupt();
  initialize_gstreamer_with_demucs_plugin();

  std::string stem_name = settings.stem.empty() ? "vocals" : settings.stem;
  if (several) {
    stem_name.clear();
    for (const auto &s : settings.stems) stem_name += (stem_name.empty() ? "" : ", ") + s;
  }
  SeparationProgressBar bar(base_name(settings.input_path) + " (" + stem_name + ")", stderr,
                            isatty(fileno(stderr)) != 0);
  SeparationPipeline::ProgressCallback progress;
  if (!quiet) progress = [&bar](double percent, GstClockTime, GstClockTime) { bar.update(percent); };
  const SeparationResult result = SeparationPipeline::run(settings, progress, cancellable);
  bar.finish();

  if (result.cancelled) {
    std::fprintf(stderr, "%s: interrupted; no output was left\n", argv[0]);
    return kInterruptedExitStatus;
  }
  if (!result.ok) {
    std::fprintf(stderr, "%s: %s\n", argv[0], result.error_message.c_str());
    return 1;
  }
  for (const auto &[stem, path] : result.files)
    std::printf("%s: %s of %s written\n", path.c_str(), (stem.empty() ? stem_name : stem).c_str(),
                settings.input_path.c_str());
  return 0;
}

}  // namespace

Command separate_command() {
  return Command{"separate", "INPUT", "separate the vocals (or another stem) of INPUT into -o FILE",
                 run_separate};
}

}  // namespace demucs
