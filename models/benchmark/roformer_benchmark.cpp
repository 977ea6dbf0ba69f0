// Speed and memory of BS-RoFormer / Mel-Band RoFormer separation: the
// architecture of a community YAML configuration with random weights, on
// stereo noise read from a float WAV file in one-second pieces, through the
// streaming demix separator (the reference's demix: chunk_size, num_overlap,
// fades, reflect padding, batch 1). Prints JSON (no library needed: it runs in
// a models-only build too).
//
//   roformer-benchmark --config MODEL.yaml [--threads 2] [--seconds 20,60,120]
//   roformer-benchmark --config MODEL.yaml --threads 2 --seconds 20
//       --reference-src DIR [--reference-seconds 20] [--repeats 3] [--python /usr/bin/python3]
//   roformer-benchmark --config MODEL.yaml --seconds 20 --profile-ops   (per-operator times on stderr)
//
// With --reference-src DIR (a checkout of ZFTurbo's Music-Source-Separation-
// Training, which also holds the community YAML files under configs/) and a
// Python with torch, each case of --reference-seconds (default: every case)
// also runs the reference's own model code and demix on the same WAV file
// (reference_roformer_demix.py, next to this file), alternating with ours
// --repeats times; the JSON gives the medians and the ratios ours / reference
// of time and of peak RSS.
//
// Each run is a child process of its own, so that its peak RSS is its own.
#include "benchmark/child_process.h"
#include "benchmark/median.h"
#include "benchmark/noise_wav.h"
#include "benchmark/op_profile.h"
#include "benchmark/roformer_reference_runner.h"
#include "benchmark/stopwatch.h"
#include "benchmark/upstream_runner.h"
#include "network/torch_compat.h"
#include "roformer/roformer.h"
#include "roformer/roformer_config_file.h"
#include "separator/compute_threads.h"
#include "separator/demix_separator.h"

#include <ATen/ATen.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using demucs::benchmark::json_number;
using demucs::benchmark::median;
using demucs::benchmark::Stopwatch;

constexpr std::uint64_t kNoiseSeed = 1;
constexpr std::uint64_t kWeightSeed = 0;

// The resident set now (/proc/self/statm), MiB.
double current_rss_mib() {
  long pages_total = 0, pages_resident = 0;
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) {
    return -1;
  }
  const int read = std::fscanf(statm, "%ld %ld", &pages_total, &pages_resident);
  std::fclose(statm);
  return read == 2 ? static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0)
                   : -1;
}

// User and system CPU time of this process so far, all threads: on a busy
// machine it moves less than the wall clock.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

std::vector<double> parse_list(const std::string& text) {
  std::vector<double> values;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    values.push_back(std::stod(item));
  }
  return values;
}

std::string load_average() {
  double loads[3] = {0, 0, 0};
  if (getloadavg(loads, 3) != 3) {
    return "null";
  }
  char text[64];
  std::snprintf(text, sizeof text, "[%.2f, %.2f, %.2f]", loads[0], loads[1], loads[2]);
  return text;
}

// One run of ours, in this process: separates the WAV file `input` and prints
// one JSON object.
int run_case(const std::string& config_path, const std::string& input, int threads, bool profile_ops) {
  demucs::set_compute_threads(threads);
  const demucs::RoformerConfig config = demucs::read_roformer_config(config_path);
  const Stopwatch load_time;
  std::shared_ptr<demucs::Roformer> model =
      demucs::Roformer::with_random_weights(config, at::Device(at::kCPU), kWeightSeed);
  const double load_s = load_time.seconds();
  const double loaded_rss_mib = current_rss_mib();

  demucs::DemixOptions options;  // the reference's demix with the YAML's inference settings, batch 1
  options.chunk_size = config.chunk_size;
  options.num_overlap = config.num_overlap;
  options.threads = threads;
  demucs::DemixSeparator separator(model, options);
  demucs::benchmark::NoiseWavReader reader(input);
  if (reader.rate() != model->samplerate()) {
    std::cerr << "error: " << input << " is at " << reader.rate() << " Hz, the model takes " << model->samplerate()
              << " Hz\n";
    return 1;
  }
  if (profile_ops) {
    demucs::benchmark::start_op_profile();
  }
  const Stopwatch compute_time;
  const double start_cpu_s = cpu_seconds();
  std::int64_t produced = 0;
  for (;;) {
    const std::vector<float>& piece = reader.read(reader.rate());
    if (piece.empty()) {
      break;
    }
    const auto frames = static_cast<std::int64_t>(piece.size()) / demucs::benchmark::kNoiseChannels;
    separator.push_interleaved(piece.data(), frames, demucs::benchmark::kNoiseChannels);
    produced += separator.pull().size(-1);
  }
  separator.finish();
  produced += separator.pull().size(-1);
  const double compute_s = compute_time.seconds();
  const double compute_cpu_s = cpu_seconds() - start_cpu_s;
  if (produced != reader.frames()) {
    std::cerr << "error: produced " << produced << " frames for " << reader.frames() << "\n";
    return 1;
  }
  const double audio_s = static_cast<double>(reader.frames()) / reader.rate();
  std::printf(
      "{\"model_type\": \"%s\", \"parameters\": %lld, \"threads\": %d, \"audio_seconds\": %.3f, "
      "\"load_seconds\": %.3f, \"compute_seconds\": %.3f, \"compute_per_audio_second\": %.4f, "
      "\"compute_cpu_seconds\": %.3f, "
      "\"forward_calls\": %lld, \"rss_after_load_mib\": %.1f, \"peak_rss_mib\": %.1f}\n",
      demucs::roformer_model_type(config.kind), static_cast<long long>(model->parameter_count()), threads, audio_s,
      load_s, compute_s, compute_s / audio_s, compute_cpu_s, static_cast<long long>(separator.forward_calls()), loaded_rss_mib,
      peak_rss_mib());
  if (profile_ops) {
    demucs::benchmark::print_op_profile(stderr, 25);
  }
  return 0;
}

struct Options {
  std::string config;
  std::vector<double> threads = {2};
  std::vector<double> durations = {20};
  std::vector<double> reference_durations;  // empty: every duration
  std::string reference_src;
  std::string python;
  std::string work_dir = "/tmp";
  int repeats = 1;
  bool profile_ops = false;
};

bool runs_reference(const Options& options, double seconds) {
  return !options.reference_src.empty() &&
         (options.reference_durations.empty() ||
          std::find(options.reference_durations.begin(), options.reference_durations.end(), seconds) !=
              options.reference_durations.end());
}

// Ours on `input`, in a child process of this program.
std::string run_ours(const std::string& self, const Options& options, const std::string& input, int threads) {
  std::vector<std::string> arguments = {"--case", input, "--config", options.config, "--threads",
                                        std::to_string(threads)};
  if (options.profile_ops) {
    arguments.emplace_back("--profile-ops");
  }
  const demucs::benchmark::ChildResult child = demucs::benchmark::run_child_process(self, arguments);
  if (!child.ok) {
    std::cerr << "error: ours on " << input << " with " << threads << " threads failed: " << child.failure << "\n";
  }
  return child.ok ? child.output : "";
}

// The reference's demix on `input`, in a Python child process; its vocals go to `output`.
std::string run_reference(const std::string& python, const Options& options, const std::string& input,
                          const std::string& output, int threads) {
  const demucs::benchmark::ChildResult child = demucs::benchmark::run_reference_roformer_script(
      python, options.reference_src,
      {"--config", options.config, "--input", input, "--output", output, "--threads", std::to_string(threads),
       "--seed", std::to_string(kWeightSeed)});
  if (!child.ok) {
    std::cerr << "error: the reference's demix failed: " << child.failure << "\n";
  }
  return child.ok ? child.output : "";
}

int usage(const char* program) {
  std::cerr << "usage: " << program
            << " --config MODEL.yaml [--threads 2] [--seconds 20,60,120] [--repeats N] [--profile-ops]"
               " [--reference-src DIR [--reference-seconds 20] [--python PATH]] [--work-dir /tmp]\n";
  return 2;
}

// Every case and its repeats, alternating ours and the reference; prints the
// JSON document. Returns the number of runs that failed.
int run_cases(const Options& options) {
  const std::string self = demucs::benchmark::this_program_path();
  const std::string python =
      options.reference_src.empty() ? "" : demucs::benchmark::python_with_torch(options.python);
  if (!options.reference_src.empty() && python.empty()) {
    std::cerr << "note: no Python with torch found (--python PATH): the reference is not measured\n";
  }
  const demucs::RoformerConfig config = demucs::read_roformer_config(options.config);
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  std::cout << "{\"config\": \"" << options.config << "\", \"model_type\": \""
            << demucs::roformer_model_type(config.kind) << "\", \"weights\": \"random\", \"chunk_size\": "
            << config.chunk_size << ", \"num_overlap\": " << config.num_overlap
            << ", \"batch_size\": 1, \"torch_version\": \"" << demucs::torch_compat::torch_version()
            << "\", \"omp_wait_policy\": \"" << (wait_policy ? wait_policy : "default") << "\", \"cases\": [\n";
  bool first = true;
  int failures = 0;
  const auto emit = [&](const std::string& implementation, int repeat, const std::string& load,
                        const std::string& result) {
    std::cout << (first ? "  " : ",\n  ") << "{\"implementation\": \"" << implementation
              << "\", \"repeat\": " << repeat << ", \"load_average_before\": " << load << ", "
              << result.substr(1) << std::flush;
    first = false;
  };
  for (double seconds : options.durations) {
    char name[64];
    std::snprintf(name, sizeof name, "/roformer-benchmark-%d-%.0fs", static_cast<int>(getpid()), seconds);
    const std::string input = options.work_dir + name + ".wav";
    const std::string reference_output = options.work_dir + name + ".reference-vocals.wav";
    demucs::benchmark::write_noise_wav(input, static_cast<std::int64_t>(seconds * config.samplerate),
                                       config.samplerate, kNoiseSeed);
    for (double t : options.threads) {
      const int threads = static_cast<int>(t);
      std::vector<double> ours_s, ours_cpu_s, ours_mib, reference_s, reference_cpu_s, reference_mib;
      for (int repeat = 0; repeat < options.repeats; ++repeat) {
        std::string load = load_average();
        const std::string ours = run_ours(self, options, input, threads);
        if (ours.empty()) {
          ++failures;
        } else {
          emit("demucs-vocals", repeat, load, ours);
          ours_s.push_back(json_number(ours, "compute_seconds"));
          ours_cpu_s.push_back(json_number(ours, "compute_cpu_seconds"));
          ours_mib.push_back(json_number(ours, "peak_rss_mib"));
        }
        if (python.empty() || !runs_reference(options, seconds)) {
          continue;
        }
        load = load_average();
        const std::string reference = run_reference(python, options, input, reference_output, threads);
        if (reference.empty()) {
          ++failures;
          continue;
        }
        // The script's JSON starts with its own "implementation" field: emit gives it.
        emit("reference", repeat, load, reference.substr(reference.find(',') + 1).insert(0, "{"));
        reference_s.push_back(json_number(reference, "compute_seconds"));
        reference_cpu_s.push_back(json_number(reference, "compute_cpu_seconds"));
        reference_mib.push_back(json_number(reference, "peak_rss_mib"));
      }
      if (!ours_s.empty() && !reference_s.empty()) {
        char summary[768];
        std::snprintf(summary, sizeof summary,
                      "{\"summary\": true, \"threads\": %d, \"audio_seconds\": %.1f, \"runs\": %zu, "
                      "\"median_ours_s\": %.2f, \"median_reference_s\": %.2f, \"time_ratio_ours_to_reference\": %.3f, "
                      "\"median_ours_cpu_s\": %.2f, \"median_reference_cpu_s\": %.2f, "
                      "\"cpu_time_ratio_ours_to_reference\": %.3f, "
                      "\"median_ours_peak_rss_mib\": %.1f, \"median_reference_peak_rss_mib\": %.1f, "
                      "\"peak_rss_ratio_ours_to_reference\": %.3f}",
                      threads, seconds, std::min(ours_s.size(), reference_s.size()), median(ours_s),
                      median(reference_s), median(ours_s) / median(reference_s), median(ours_cpu_s),
                      median(reference_cpu_s), median(ours_cpu_s) / median(reference_cpu_s), median(ours_mib),
                      median(reference_mib), median(ours_mib) / median(reference_mib));
        std::cout << ",\n  " << summary << std::flush;
      }
    }
    std::remove(input.c_str());
    std::remove(reference_output.c_str());
  }
  std::cout << "\n]}\n";
  return failures;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::string case_input;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--case" && has_value) {  // internal: one run of ours in this process
      case_input = argv[++i];
    } else if (arg == "--config" && has_value) {
      options.config = argv[++i];
    } else if (arg == "--threads" && has_value) {
      options.threads = parse_list(argv[++i]);
    } else if (arg == "--seconds" && has_value) {
      options.durations = parse_list(argv[++i]);
    } else if (arg == "--reference-src" && has_value) {
      options.reference_src = argv[++i];
    } else if (arg == "--reference-seconds" && has_value) {
      options.reference_durations = parse_list(argv[++i]);
    } else if (arg == "--python" && has_value) {
      options.python = argv[++i];
    } else if (arg == "--work-dir" && has_value) {
      options.work_dir = argv[++i];
    } else if (arg == "--repeats" && has_value) {
      options.repeats = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--profile-ops") {
      options.profile_ops = true;
    } else {
      return usage(argv[0]);
    }
  }
  if (options.config.empty() || options.threads.empty() || options.durations.empty()) {
    return usage(argv[0]);
  }
  try {
    if (!case_input.empty()) {
      return run_case(options.config, case_input, static_cast<int>(options.threads[0]), options.profile_ops);
    }
    return run_cases(options) == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
