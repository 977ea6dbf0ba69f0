// What the GStreamer pipeline costs on top of the separator, and whether its
// memory grows with the length of the input. Prints JSON; not a test.
//
//   pipeline-benchmark [--seconds 30] [--repeats 3] [--threads N] [--only speed|memory]
//                      [--memory-seconds 60,600] [--seed 1] [--keep-temp]
//   pipeline-benchmark --only speed --upstream-src DIR [--python PATH]
//
// speed: the full-size htdemucs architecture with random weights (seeded),
// written as an official-format float16 checkpoint; --seconds of stereo noise
// in a float WAV file. Each run, in a child process of its own:
//   separator  load_stem_model, then the file through StemStream (the
//              element's own wrapper of StreamSeparator) in 1024-frame pieces,
//              as wavparse hands them to the element;
//   pipeline   SeparationPipeline::run: filesrc ! decodebin ! audioconvert !
//              audioresample ! capsfilter ! demucsvocals ! audioconvert !
//              wavenc ! filesink. The model is loaded first by a demucsvocals
//              element held in READY (elements share a loaded model), so that
//              the load is timed apart, as for the separator.
// compute seconds per audio second exclude the model load; the *_with_load
// figures include it. Both cases use the same thread count and stem (vocals).
//
// With --upstream-src DIR (a copy of upstream's demucs/ package) and a Python
// with torch, each of those runs is followed by upstream's whole job on the
// same files, in a Python child process (models/benchmark/
// upstream_apply_model.py): the same .th through upstream's load_model (the
// load), then the WAV read, apply_model (split, overlap 0.25, no shifts, the
// same thread count) and the vocals stem written as a float WAV (the compute).
// The JSON adds upstream's medians and the ratios ours / upstream.
//
// memory: the pipeline with the tiny fixture model (tests/data) on 1 and 10
// minutes of noise; peak RSS of each child process (wait4), and their ratio.
//
// OpenMP reads OMP_WAIT_POLICY when LibTorch loads it, before main(): this
// program sets PASSIVE (as demucs-vocals does; a value already set is kept)
// for the child processes, which do all the measured work.
#include "benchmark/child_process.h"
#include "benchmark/median.h"
#include "benchmark/noise_wav.h"
#include "benchmark/stopwatch.h"
#include "benchmark/upstream_runner.h"

#include "checkpoint/checkpoint_writer.h"
#include "demucs_plugin_location.h"
#include "demucs/demucs.h"
#include "network/htdemucs.h"
#include "network/official_architectures.h"
#include "separation_pipeline.h"

#include <ATen/ATen.h>
#include <glib.h>
#include <gst/gst.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace demucs::benchmark {
namespace {

constexpr const char* kStem = "vocals";
constexpr std::int64_t kPieceFrames = 1764;  // wavparse hands the element 40 ms buffers (1764 frames at 44.1 kHz)
constexpr int kRate = 44100;

struct Options {
  double seconds = 30;
  int repeats = 3;
  int threads = 0;  // 0: every core
  bool speed = true;
  bool memory = true;
  std::vector<double> memory_seconds = {60, 600};
  std::uint64_t seed = 1;
  bool keep_temp = false;
  std::string tiny_model = DEMUCS_TINY_MODEL;
  std::string upstream_src;  // "": upstream is not measured
  std::string python;        // tried first for upstream, before python3 and /usr/bin/python3
  std::string command;       // as given, for the JSON
};

const char* omp_wait_policy() {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  return policy != nullptr ? policy : "default";
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

std::string number(double value, int digits = 4) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

// --- The cases, each run in a child process ---------------------------------

// args: MODEL.th INPUT.wav THREADS
int separator_case(const std::vector<std::string>& args) {
  const int threads = std::stoi(args.at(2));
  NoiseWavReader input(args.at(1));
  const Stopwatch load_time;
  LoadOptions load_options;
  load_options.device = "cpu";
  const LoadedModel model = load_model(args.at(0), kStem, load_options);
  const double load_s = load_time.seconds();

  const Stopwatch compute_time;
  SeparatorOptions options;
  options.threads = threads;
  StemStream stream(model, options);
  std::int64_t produced = 0;
  for (;;) {
    const std::vector<float>& piece = input.read(kPieceFrames);
    if (piece.empty()) {
      break;
    }
    stream.push(piece.data(), static_cast<std::int64_t>(piece.size()) / kNoiseChannels, kNoiseChannels);
    produced += static_cast<std::int64_t>(stream.pull().size()) / StemStream::kChannels;
  }
  stream.finish();
  produced += static_cast<std::int64_t>(stream.pull().size()) / StemStream::kChannels;
  const double compute_s = compute_time.seconds();
  if (produced != input.frames()) {
    std::cerr << "error: the separator produced " << produced << " frames for " << input.frames() << "\n";
    return 1;
  }
  std::printf("{\"load_seconds\": %.3f, \"compute_seconds\": %.3f, \"frames\": %lld, \"threads\": %d, "
              "\"omp_wait_policy\": %s}\n",
              load_s, compute_s, static_cast<long long>(produced), threads, json_string(omp_wait_policy()).c_str());
  return 0;
}

// args: MODEL.th INPUT.wav OUTPUT.wav THREADS
int pipeline_case(const std::vector<std::string>& args) {
  const int threads = std::stoi(args.at(3));
  initialize_gstreamer_with_demucs_plugin();
  GstElement* holder = gst_element_factory_make(kDemucsElementName, nullptr);
  if (holder == nullptr) {
    std::cerr << "error: no " << kDemucsElementName << " element (looked in " << demucs_plugin_folder() << ")\n";
    return 1;
  }
  gst_object_ref_sink(holder);
  g_object_set(holder, "model", args.at(0).c_str(), "stem", kStem, "device", "cpu", "threads", threads, nullptr);
  const Stopwatch load_time;
  if (gst_element_set_state(holder, GST_STATE_READY) == GST_STATE_CHANGE_FAILURE) {
    std::cerr << "error: " << kDemucsElementName << " could not load " << args.at(0) << "\n";
    gst_object_unref(holder);
    return 1;
  }
  const double load_s = load_time.seconds();

  SeparationSettings settings;
  settings.input_path = args.at(1);
  settings.output_path = args.at(2);
  settings.format = OutputFormat::wav;
  settings.model = args.at(0);
  settings.device = "cpu";
  settings.stem = kStem;
  settings.threads = threads;
  const Stopwatch compute_time;
  const SeparationResult result = SeparationPipeline::run(settings, nullptr);
  const double compute_s = compute_time.seconds();
  gst_element_set_state(holder, GST_STATE_NULL);
  gst_object_unref(holder);
  if (!result.ok) {
    std::cerr << "error: the pipeline failed: " << result.error_message << "\n";
    return 1;
  }
  // The whole input went through: as many frames out as in.
  const std::int64_t input_frames = NoiseWavReader(args.at(1)).frames();
  const std::int64_t output_frames = wav_file_frames(args.at(2));
  if (output_frames != input_frames) {
    std::cerr << "error: the pipeline wrote " << output_frames << " frames for " << input_frames << "\n";
    return 1;
  }
  std::printf("{\"load_seconds\": %.3f, \"compute_seconds\": %.3f, \"frames\": %lld, \"threads\": %d, "
              "\"omp_wait_policy\": %s}\n",
              load_s, compute_s, static_cast<long long>(output_frames), threads,
              json_string(omp_wait_policy()).c_str());
  return 0;
}

// --- The parent: inputs, child processes, figures ---------------------------

// The machine's 1-minute load average: other work slows every figure down.
double load_average() {
  double load = 0;
  return getloadavg(&load, 1) == 1 ? load : -1;
}

struct Run {
  std::string name;
  double load_average_before = 0;
  double frames = 0;  // out of the separator or the pipeline: all of the input
  double audio_seconds = 0;
  double load_s = 0;
  double compute_s = 0;
  double peak_rss_mib = 0;
  double cpu_s = 0;  // the whole child process's CPU time, load and start-up included
  std::string child_json;
  double per_audio_second() const { return compute_s / audio_seconds; }
  double with_load_per_audio_second() const { return (load_s + compute_s) / audio_seconds; }
  double cpu_per_audio_second() const { return cpu_s / audio_seconds; }
};

// The figures of a child process that printed load_seconds, frames and
// compute_seconds. Throws std::runtime_error when it failed.
Run finished_run(const std::string& name, const ChildResult& child, double audio_seconds, double load_before) {
  if (!child.ok) {
    throw std::runtime_error("the " + name + " case failed (" + child.failure + ")");
  }
  Run run;
  run.name = name;
  run.audio_seconds = audio_seconds;
  run.load_average_before = load_before;
  run.load_s = json_number(child.output, "load_seconds");
  run.frames = json_number(child.output, "frames");
  run.compute_s = json_number(child.output, "compute_seconds");
  run.peak_rss_mib = child.peak_rss_mib;
  run.cpu_s = child.cpu_seconds;
  run.child_json = child.output;
  return run;
}

Run run_case(const std::string& name, const std::vector<std::string>& arguments, double audio_seconds) {
  std::vector<std::string> child_arguments = {"--case", name};
  child_arguments.insert(child_arguments.end(), arguments.begin(), arguments.end());
  const double load_before = load_average();
  return finished_run(name, run_child_process(this_program_path(), child_arguments), audio_seconds, load_before);
}

// Upstream's whole job on the same files, in a Python child process; checks
// that the stem it wrote is as long as the input.
Run run_upstream(const std::string& python, const Options& options, const std::string& model_path,
                 const std::string& input_path, const std::string& output_path, double audio_seconds) {
  const double load_before = load_average();
  const ChildResult child = run_upstream_script(
      python, options.upstream_src,
      {"--threads", std::to_string(options.threads), "--checkpoint", model_path, "--input", input_path, "--output",
       output_path, "--stem", kStem});
  Run run = finished_run("upstream", child, audio_seconds, load_before);
  const std::int64_t input_frames = NoiseWavReader(input_path).frames();
  const std::int64_t output_frames = wav_file_frames(output_path);
  std::filesystem::remove(output_path);
  if (output_frames != input_frames) {
    throw std::runtime_error("upstream wrote " + std::to_string(output_frames) + " frames for " +
                             std::to_string(input_frames));
  }
  return run;
}

std::string run_json(const Run& run, int index) {
  return "{\"case\": " + json_string(run.name) + ", \"run\": " + std::to_string(index) +
         ", \"audio_seconds\": " + number(run.audio_seconds, 1) + ", \"frames_out\": " + number(run.frames, 0) +
         ", \"load_seconds\": " + number(run.load_s, 3) +
         ", \"compute_seconds\": " + number(run.compute_s, 3) +
         ", \"compute_per_audio_second\": " + number(run.per_audio_second()) +
         ", \"with_load_per_audio_second\": " + number(run.with_load_per_audio_second()) +
         ", \"process_cpu_seconds\": " + number(run.cpu_s, 2) + ", \"peak_rss_mib\": " + number(run.peak_rss_mib, 1) +
         ", \"machine_load_average_before\": " + number(run.load_average_before, 2) + "}";
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i ? separator : "") + items[i];
  }
  return out;
}

void progress(const std::string& line) { std::cerr << "pipeline-benchmark: " << line << std::endl; }

std::string speed_json(const Options& options, const std::string& folder) {
  const std::string model_path = folder + "/htdemucs-random.th";
  const std::string input_path = folder + "/noise.wav";
  const std::string output_path = folder + "/vocals.wav";
  const std::string upstream_output_path = folder + "/upstream-vocals.wav";
  const std::string python = options.upstream_src.empty() ? "" : python_with_torch(options.python);
  if (!options.upstream_src.empty() && python.empty()) {
    progress("note: no Python with torch found (--python PATH): upstream is not measured");
  }
  {
    progress("writing the full-size htdemucs architecture with random weights (seed " + std::to_string(options.seed) +
             ") to " + model_path);
    const auto kwargs = official_htdemucs_kwargs();
    const auto model = HTDemucs::with_random_weights(kwargs, at::kCPU, options.seed);
    std::map<std::string, at::Tensor> half_state;
    for (const auto& [name, tensor] : model->state()) {
      half_state[name] = tensor.to(at::kHalf);  // as the official checkpoints store them
    }
    write_checkpoint(Checkpoint{"", "demucs.htdemucs.HTDemucs", kwargs, half_state}, model_path);
  }
  const auto frames = static_cast<std::int64_t>(options.seconds * kRate);
  write_noise_wav(input_path, frames, kRate, options.seed);
  const double audio_seconds = static_cast<double>(frames) / kRate;

  // Alternating, so that a change in the machine's load touches all alike.
  std::vector<Run> separator_runs, pipeline_runs, upstream_runs;
  std::vector<std::string> runs;
  const std::string threads = std::to_string(options.threads);
  for (int r = 1; r <= options.repeats; ++r) {
    const std::string run_name = "speed run " + std::to_string(r) + "/" + std::to_string(options.repeats) + ": ";
    const auto run_upstream_after = [&](const std::string& ours) {
      if (!python.empty()) {
        progress(run_name + "upstream, after the " + ours);
        upstream_runs.push_back(
            run_upstream(python, options, model_path, input_path, upstream_output_path, audio_seconds));
        runs.push_back(run_json(upstream_runs.back(), r));
      }
    };
    progress(run_name + "separator");
    separator_runs.push_back(run_case("separator", {model_path, input_path, threads}, audio_seconds));
    runs.push_back(run_json(separator_runs.back(), r));
    run_upstream_after("separator");
    progress(run_name + "pipeline");
    pipeline_runs.push_back(run_case("pipeline", {model_path, input_path, output_path, threads}, audio_seconds));
    runs.push_back(run_json(pipeline_runs.back(), r));
    std::filesystem::remove(output_path);
    run_upstream_after("pipeline");
  }
  const auto medians = [](const std::vector<Run>& list, double (Run::*figure)() const) {
    std::vector<double> values;
    for (const Run& run : list) {
      values.push_back((run.*figure)());
    }
    return median(values);
  };
  const double separator_median = medians(separator_runs, &Run::per_audio_second);
  const double pipeline_median = medians(pipeline_runs, &Run::per_audio_second);
  const double separator_with_load = medians(separator_runs, &Run::with_load_per_audio_second);
  const double pipeline_with_load = medians(pipeline_runs, &Run::with_load_per_audio_second);
  const double separator_cpu = medians(separator_runs, &Run::cpu_per_audio_second);
  const double pipeline_cpu = medians(pipeline_runs, &Run::cpu_per_audio_second);
  const auto median_peak_rss = [](const std::vector<Run>& list) {
    std::vector<double> values;
    for (const Run& run : list) {
      values.push_back(run.peak_rss_mib);
    }
    return median(values);
  };
  std::error_code error;
  const double model_mib = static_cast<double>(std::filesystem::file_size(model_path, error)) / (1024.0 * 1024.0);

  std::ostringstream out;
  out << "{\n"
      << "    \"model\": " << json_string("htdemucs architecture (official kwargs), random weights, seed " +
                                          std::to_string(options.seed) + ", written as a float16 .th of " +
                                          number(model_mib, 1) + " MiB")
      << ",\n"
      << "    \"input\": " << json_string(number(audio_seconds, 1) + " s of stereo Gaussian noise (sd 0.1), " +
                                          std::to_string(kRate) + " Hz, float32 WAV")
      << ",\n"
      << "    \"stem\": \"vocals\", \"device\": \"cpu\", \"repeats\": " << options.repeats << ",\n"
      << "    \"separator\": \"load_stem_model, then StemStream (StreamSeparator) fed the WAV in "
      << kPieceFrames << "-frame interleaved pieces, pulling after each\",\n"
      << "    \"pipeline\": \"SeparationPipeline::run: filesrc ! decodebin ! audioconvert ! audioresample ! "
         "capsfilter ! demucsvocals ! audioconvert ! wavenc ! filesink, the model preloaded by a demucsvocals "
         "element held in READY\",\n"
      << "    \"measure\": \"compute_seconds: wall time after the model load; load_seconds: the load; "
         "*_per_audio_second divide by the audio's length; with_load includes the load; process_cpu: user + system CPU "
         "time of the whole child process (wait4), load and start-up included, less sensitive than wall time to "
         "other work on the machine\",\n"
      << "    \"runs\": [\n      " << join(runs, ",\n      ") << "\n    ],\n"
      << "    \"separator_median_per_audio_second\": " << number(separator_median) << ",\n"
      << "    \"pipeline_median_per_audio_second\": " << number(pipeline_median) << ",\n"
      << "    \"ratio_pipeline_to_separator\": " << number(pipeline_median / separator_median) << ",\n"
      << "    \"separator_median_with_load_per_audio_second\": " << number(separator_with_load) << ",\n"
      << "    \"pipeline_median_with_load_per_audio_second\": " << number(pipeline_with_load) << ",\n"
      << "    \"ratio_with_load\": " << number(pipeline_with_load / separator_with_load) << ",\n"
      << "    \"separator_median_process_cpu_per_audio_second\": " << number(separator_cpu) << ",\n"
      << "    \"pipeline_median_process_cpu_per_audio_second\": " << number(pipeline_cpu) << ",\n"
      << "    \"ratio_process_cpu\": " << number(pipeline_cpu / separator_cpu) << ",\n"
      << "    \"separator_median_peak_rss_mib\": " << number(median_peak_rss(separator_runs), 1) << ",\n"
      << "    \"pipeline_median_peak_rss_mib\": " << number(median_peak_rss(pipeline_runs), 1) << ",\n";
  if (!upstream_runs.empty()) {
    const double upstream_median = medians(upstream_runs, &Run::per_audio_second);
    out << "    \"upstream\": {\"python\": " << json_string(python)
        << ", \"source\": " << json_string(options.upstream_src)
        << ", \"job\": \"upstream_apply_model.py after each of our runs: the same .th through demucs.states."
           "load_model (load_seconds), then the same WAV read, apply_model (split, overlap 0.25, shifts 0, the same "
           "threads) and the vocals stem written as a float WAV (compute_seconds)\", \"last_report\": "
        << upstream_runs.back().child_json << "},\n"
        << "    \"upstream_median_per_audio_second\": " << number(upstream_median) << ",\n"
        << "    \"upstream_median_with_load_per_audio_second\": "
        << number(medians(upstream_runs, &Run::with_load_per_audio_second)) << ",\n"
        << "    \"upstream_median_process_cpu_per_audio_second\": "
        << number(medians(upstream_runs, &Run::cpu_per_audio_second)) << ",\n"
        << "    \"upstream_median_peak_rss_mib\": " << number(median_peak_rss(upstream_runs), 1) << ",\n"
        << "    \"ratio_separator_to_upstream\": " << number(separator_median / upstream_median) << ",\n"
        << "    \"ratio_pipeline_to_upstream\": " << number(pipeline_median / upstream_median) << ",\n";
  }
  out << "    \"goal\": \"ratio_pipeline_to_separator < 1.05\",\n"
      << "    \"goal_met\": " << (pipeline_median / separator_median < 1.05 ? "true" : "false") << "\n"
      << "  }";
  return out.str();
}

std::string memory_json(const Options& options, const std::string& folder) {
  std::vector<Run> runs;
  std::vector<std::string> items;
  for (const double seconds : options.memory_seconds) {
    const auto frames = static_cast<std::int64_t>(seconds * kRate);
    const std::string input_path = folder + "/noise-" + number(seconds, 0) + "s.wav";
    const std::string output_path = folder + "/vocals-" + number(seconds, 0) + "s.wav";
    write_noise_wav(input_path, frames, kRate, options.seed);
    progress("memory: the pipeline with the tiny model on " + number(seconds, 0) + " s");
    runs.push_back(run_case("pipeline", {options.tiny_model, input_path, output_path, std::to_string(options.threads)},
                            static_cast<double>(frames) / kRate));
    items.push_back(run_json(runs.back(), static_cast<int>(runs.size())));
    std::filesystem::remove(input_path);
    std::filesystem::remove(output_path);
  }
  const double ratio = runs.back().peak_rss_mib / runs.front().peak_rss_mib;
  std::ostringstream out;
  out << "{\n"
      << "    \"model\": " << json_string(options.tiny_model) << ",\n"
      << "    \"measure\": \"peak RSS (ru_maxrss from wait4) of a child process running the pipeline once\",\n"
      << "    \"runs\": [\n      " << join(items, ",\n      ") << "\n    ],\n"
      << "    \"rss_ratio_longest_to_shortest\": " << number(ratio) << ",\n"
      << "    \"goal\": \"rss ratio < 1.1\",\n"
      << "    \"goal_met\": " << (ratio < 1.1 ? "true" : "false") << "\n"
      << "  }";
  return out.str();
}

// --- Command line -------------------------------------------------------------

const char* const kUsage =
    "usage: pipeline-benchmark [--seconds S] [--repeats N] [--threads N] [--only speed|memory]\n"
    "                          [--memory-seconds SHORT,LONG] [--seed N] [--tiny-model FILE.th] [--keep-temp]\n"
    "                          [--upstream-src DIR [--python PATH]]\n"
    "  --seconds S          audio length of the speed runs (default 30)\n"
    "  --repeats N          speed runs of each case (default 3); medians are reported\n"
    "  --threads N          compute threads for both cases (default: every core)\n"
    "  --only speed|memory  run one part only\n"
    "  --memory-seconds A,B input lengths of the memory runs (default 60,600)\n"
    "  --seed N             seed of the random weights and the noise (default 1)\n"
    "  --tiny-model FILE    model of the memory runs (default tests/data/htdemucs-tiny-4s.th)\n"
    "  --keep-temp          keep the temporary folder (model, audio) and print its path\n"
    "  --upstream-src DIR   also time upstream Demucs (DIR holds its demucs/ package) on the same\n"
    "                       model and input after each speed run, with a Python that has torch\n"
    "  --python PATH        that Python, tried before python3 and /usr/bin/python3\n";

[[noreturn]] void usage_error(const std::string& problem) {
  std::cerr << "pipeline-benchmark: " << problem << "\n" << kUsage;
  std::exit(2);
}

double positive_number(const std::string& option, const std::string& text) {
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size() && value > 0) {
      return value;
    }
  } catch (const std::exception&) {
  }
  usage_error(option + " needs a positive number, not '" + text + "'");
}

int positive_int(const std::string& option, const std::string& text) {
  const double value = positive_number(option, text);
  if (value != static_cast<int>(value)) {
    usage_error(option + " needs a whole number, not '" + text + "'");
  }
  return static_cast<int>(value);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (const auto equals = arg.find('='); arg.rfind("--", 0) == 0 && equals != std::string::npos) {
      value = arg.substr(equals + 1);
      arg = arg.substr(0, equals);
      has_value = true;
    }
    const auto take_value = [&]() -> std::string {
      if (has_value) {
        return value;
      }
      if (i + 1 >= argc) {
        usage_error(arg + " needs a value");
      }
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (arg == "--seconds") {
      options.seconds = positive_number(arg, take_value());
    } else if (arg == "--repeats") {
      options.repeats = positive_int(arg, take_value());
    } else if (arg == "--threads") {
      options.threads = positive_int(arg, take_value());
    } else if (arg == "--only") {
      const std::string part = take_value();
      if (part != "speed" && part != "memory") {
        usage_error("--only takes speed or memory, not '" + part + "'");
      }
      options.speed = part == "speed";
      options.memory = part == "memory";
    } else if (arg == "--memory-seconds") {
      const std::string list = take_value();
      std::stringstream items(list);
      std::string item;
      options.memory_seconds.clear();
      while (std::getline(items, item, ',')) {
        options.memory_seconds.push_back(positive_number(arg, item));
      }
      if (options.memory_seconds.size() != 2 || options.memory_seconds[0] >= options.memory_seconds[1]) {
        usage_error("--memory-seconds takes two lengths, shorter first (as 60,600), not '" + list + "'");
      }
    } else if (arg == "--seed") {
      const std::string text = take_value();
      try {
        size_t used = 0;
        options.seed = std::stoull(text, &used);
        if (used != text.size() || text[0] == '-') {
          throw std::invalid_argument(text);
        }
      } catch (const std::exception&) {
        usage_error("--seed needs a whole number, not '" + text + "'");
      }
    } else if (arg == "--tiny-model") {
      options.tiny_model = take_value();
    } else if (arg == "--upstream-src") {
      options.upstream_src = take_value();
    } else if (arg == "--python") {
      options.python = take_value();
    } else if (arg == "--keep-temp" && !has_value) {
      options.keep_temp = true;
    } else {
      usage_error("unknown option '" + std::string(argv[i]) + "'");
    }
  }
  if (options.memory && !std::filesystem::is_regular_file(options.tiny_model)) {
    usage_error("no model file " + options.tiny_model + " (--tiny-model)");
  }
  if (!options.upstream_src.empty() && !std::filesystem::is_regular_file(options.upstream_src + "/demucs/apply.py")) {
    usage_error("no upstream demucs/ package in " + options.upstream_src + " (--upstream-src)");
  }
  if (!options.upstream_src.empty() && !options.speed) {
    usage_error("--upstream-src compares the speed runs: not with --only memory");
  }
  if (options.threads == 0) {
    options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  return options;
}

int run_benchmark(const Options& options) {
  std::string folder_template = (std::filesystem::temp_directory_path() / "pipeline-benchmark-XXXXXX").string();
  if (g_mkdtemp(folder_template.data()) == nullptr) {
    std::cerr << "pipeline-benchmark: cannot make a temporary folder in "
              << std::filesystem::temp_directory_path().string() << "\n";
    return 1;
  }
  const std::string folder = folder_template;
  int status = 0;
  const double load_at_start = load_average();
  try {
    std::string speed, memory;
    if (options.speed) {
      speed = speed_json(options, folder);
    }
    if (options.memory) {
      memory = memory_json(options, folder);
    }
    std::cout << "{\n"
              << "  \"benchmark\": \"separation pipeline (demucsvocals element) against the separator alone\",\n"
              << "  \"omp_wait_policy\": " << json_string(omp_wait_policy()) << ",\n"
              << "  \"threads\": " << options.threads << ",\n"
              << "  \"hardware_threads\": " << std::thread::hardware_concurrency() << ",\n"
              << "  \"machine_load_average\": {\"start\": " << number(load_at_start, 2)
              << ", \"end\": " << number(load_average(), 2) << "},\n"
              << "  \"command\": " << json_string(options.command) << ",\n";
    if (options.speed) {
      std::cout << "  \"speed\": " << speed << (options.memory ? ",\n" : "\n");
    }
    if (options.memory) {
      std::cout << "  \"memory\": " << memory << "\n";
    }
    std::cout << "}\n";
  } catch (const std::exception& e) {
    std::cerr << "pipeline-benchmark: " << e.what() << "\n";
    status = 1;
  }
  if (options.keep_temp) {
    std::cerr << "pipeline-benchmark: kept " << folder << "\n";
  } else {
    std::error_code ignored;
    std::filesystem::remove_all(folder, ignored);
  }
  return status;
}

}  // namespace
}  // namespace demucs::benchmark

int main(int argc, char** argv) {
  using namespace demucs::benchmark;
  if (argc >= 3 && std::string(argv[1]) == "--case") {  // internal: one run, in this child process
    const std::string name = argv[2];
    const std::vector<std::string> args(argv + 3, argv + argc);
    try {
      if (name == "separator" && args.size() == 3) {
        return separator_case(args);
      }
      if (name == "pipeline" && args.size() == 4) {
        return pipeline_case(args);
      }
    } catch (const std::exception& e) {
      std::cerr << "pipeline-benchmark: " << name << " case: " << e.what() << "\n";
      return 1;
    }
    std::cerr << "pipeline-benchmark: bad internal case " << name << "\n";
    return 2;
  }
  Options options = parse_options(argc, argv);
  for (int i = 0; i < argc; ++i) {
    options.command += (i ? " " : "") + std::string(i == 0 ? "pipeline-benchmark" : argv[i]);
  }
  // For the child processes (see the top of this file); a value already set is kept.
  g_setenv("OMP_WAIT_POLICY", "PASSIVE", FALSE);
  return run_benchmark(options);
}
