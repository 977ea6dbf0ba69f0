#include "worker_main.h"

#include "audio_probe.h"
#include "worker_fault.h"
#include "worker_protocol.h"
#include "worker_sandbox.h"

#include "stem_archive.h"
#include "demucs_plugin_location.h"
#include "output_format.h"
#include "separation_pipeline.h"

#include <gst/gst.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace demucs {

namespace {

constexpr int kUsage = 2;

void report_error(const std::string &message, const char *kind) {
  JsonObject *event = json_object_new();
  json_object_set_string_member(event, "event", "error");
  json_object_set_string_member(event, "message", message.c_str());
  json_object_set_string_member(event, "kind", kind);
  write_worker_event(event);
}

// Confines this worker (worker_sandbox.h) once what it needs is loaded,
// before it reads the untrusted file; says on standard error (the daemon's
// log) when it cannot.
void enter_sandbox(const std::vector<std::string> &own_files, const std::string &job_folder, bool writes) {
  const SandboxRules rules = worker_sandbox_rules(own_files, job_folder, writes);
  for (const std::string &dropped : rules.dropped)
    std::fprintf(stderr, "demucs-vocalsd worker: %s is not readable in the sandbox: the data folder is inside it\n",
                 dropped.c_str());
  const std::string problem = confine_worker(rules);
  if (!problem.empty())
    std::fprintf(stderr, "demucs-vocalsd worker: not confined to its job folder (%s)\n", problem.c_str());
}

std::string folder_of(const std::string &path) {
  g_autofree gchar *folder = g_path_get_dirname(path.c_str());
  return folder;
}

int probe(const std::string &path) {
  enter_sandbox({path}, folder_of(path), false);
  const ProbeResult result = probe_audio(path);
  JsonObject *event = json_object_new();
  json_object_set_string_member(event, "event", "probe");
  json_object_set_boolean_member(event, "ok", result.ok);
  if (result.seconds >= 0) json_object_set_double_member(event, "seconds", result.seconds);
  if (!result.ok) json_object_set_string_member(event, "reason", result.reason.c_str());
  write_worker_event(event);
  return 0;
}

const char *error_kind(const std::string &message) {
  if (message.find("No space left") != std::string::npos) return "disk_full";  // ENOSPC, or GStreamer's NO_SPACE_LEFT
  if (message.find("can't allocate memory") != std::string::npos ||
      message.find("out of memory") != std::string::npos)
    return "out_of_memory";
  return "failed";
}

int separate(const std::map<std::string, std::string> &arguments) {
  auto argument = [&](const char *name) {
    auto it = arguments.find(name);
    return it == arguments.end() ? std::string() : it->second;
  };
  SeparationSettings settings;
  settings.input_path = argument("input");
  settings.output_path = argument("output");
  settings.model = argument("model");
  settings.config = argument("config");
  settings.device = argument("device");
  settings.stem = argument("stem");
  settings.precision = argument("precision");
  const std::optional<OutputFormat> format = output_format_from_name(argument("format").empty() ? "wav" : argument("format"));
  const double max_seconds = argument("max-seconds").empty() ? 0.0 : std::atof(argument("max-seconds").c_str());
  if (settings.input_path.empty() || settings.output_path.empty() || !format) {
    std::fprintf(stderr, "demucs-vocalsd worker separate: --input, --output and a valid --format are needed\n");
    return kUsage;
  }
  settings.format = *format;
  // Several stems ("a,b" or "all"): one pass of demucsdemux, FOLDER/output_<stem>.<format>
  // beside --output, and FOLDER/output_stems.zip of them.
  const bool several = settings.stem.find(',') != std::string::npos || settings.stem == "all";
  if (several) {
    settings.stems = parse_stem_list(settings.stem);
    settings.output_folder = folder_of(settings.output_path);
    settings.output_name = output_name_of_input(settings.output_path);
    settings.output_path.clear();
  }

  // The element's plugin, and LibTorch with it, while their folders can be
  // found wherever they are installed (the sandbox allows loaded libraries' folders).
  if (GstPlugin *plugin = gst_plugin_load_by_name("demucsvocals")) gst_object_unref(plugin);
  const std::string job_folder = folder_of(argument("output"));
  // The model's files: the checkpoint (or the cache) and a RoFormer's YAML.
  std::vector<std::string> own_files{settings.input_path, settings.model};
  if (!settings.config.empty()) own_files.push_back(settings.config);
  enter_sandbox(own_files, job_folder, true);

  JsonObject *started = json_object_new();
  json_object_set_string_member(started, "event", "started");
  write_worker_event(started);
  run_test_fault(argument("test-fault"), job_folder);

  GCancellable *cancellable = g_cancellable_new();
  bool too_long = false;
  double last_percent = -1.0;
  const SeparationResult result = SeparationPipeline::run(
      settings,
      [&](double percent, GstClockTime processed, GstClockTime) {
        const double seconds = GST_CLOCK_TIME_IS_VALID(processed) ? static_cast<double>(processed) / GST_SECOND : 0;
        if (max_seconds > 0 && seconds > max_seconds) {
          too_long = true;
          g_cancellable_cancel(cancellable);
          return;
        }
        if (percent - last_percent < 0.1 && percent < 100.0) return;
        last_percent = percent;
        JsonObject *event = json_object_new();
        json_object_set_string_member(event, "event", "progress");
        json_object_set_double_member(event, "percent", std::round(percent * 100) / 100);
        json_object_set_double_member(event, "seconds", std::round(seconds * 100) / 100);
        write_worker_event(event);
      },
      cancellable);
  g_object_unref(cancellable);

  if (too_long) {
    char limit[32];
    std::snprintf(limit, sizeof limit, "%g", max_seconds / 60.0);
    report_error(std::string("the audio is longer than the limit of ") + limit +
                     " minutes (longer than the file said it was), so it was stopped there",
                 "too_long");
    return 1;
  }
  if (!result.ok) {
    report_error(result.error_message, error_kind(result.error_message));
    return 1;
  }
  if (several) {
    std::vector<std::pair<std::string, std::string>> entries;
    for (const auto &[stem, path] : result.files)
      entries.emplace_back(stem + "." + output_format_name(settings.format), path);
    const std::string problem = write_stem_archive(
        settings.output_folder + "/" + settings.output_name + "_stems.zip", entries);
    if (!problem.empty()) {
      report_error("cannot write the archive of the stems: " + problem, error_kind(problem));
      return 1;
    }
  }
  JsonObject *done = json_object_new();
  json_object_set_string_member(done, "event", "done");
  write_worker_event(done);
  return 0;
}

}  // namespace

int run_worker(int argc, char **argv) {
  // argv: demucs-vocalsd worker MODE ...
  if (argc < 3) {
    std::fprintf(stderr, "usage: demucs-vocalsd worker probe FILE | separate --input F --output F ...\n");
    return kUsage;
  }
  const std::string mode = argv[2];
  initialize_gstreamer_with_demucs_plugin();
  try {
    if (mode == "probe" && argc == 4) return probe(argv[3]);
    if (mode == "separate") {
      std::map<std::string, std::string> arguments;
      for (int i = 3; i + 1 < argc; i += 2) {
        const std::string name = argv[i];
        if (name.rfind("--", 0) != 0) break;
        arguments[name.substr(2)] = argv[i + 1];
      }
      return separate(arguments);
    }
  } catch (const std::bad_alloc &) {
    report_error("the separation ran out of memory (the worker's limit is --worker-memory-mb)", "out_of_memory");
    return 1;
  } catch (const std::exception &error) {
    report_error(error.what(), "failed");
    return 1;
  }
  std::fprintf(stderr, "demucs-vocalsd worker: unknown mode \"%s\"\n", mode.c_str());
  return kUsage;
}

}  // namespace demucs
