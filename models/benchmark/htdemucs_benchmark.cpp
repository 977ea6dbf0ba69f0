// Speed and memory of separation with the full-size htdemucs architecture
// (random weights, or a real checkpoint with --checkpoint), streamed through
// the separator in one-second pieces. Prints JSON (no library needed: it runs
// in a models-only build too).
//
//   htdemucs-benchmark [--threads 1,2] [--seconds 30,120] [--checkpoint FILE.th]
//                      [--device cpu|cuda|auto] [--precision fp32,fp16] [--batch-size 1,4,8]
//   htdemucs-benchmark --threads 2 --seconds 20 --upstream-src DIR [--repeats 3] [--python python3]
//   htdemucs-benchmark --threads 2 --seconds 20 --profile-ops   (per-operator times on stderr)
//
// With --upstream-src DIR (a copy of upstream's demucs/ package) and a Python
// with torch, every case also runs upstream's apply_model on the same audio
// length (upstream_apply_model.py, next to this file), alternating with ours
// --repeats times, and the JSON gives the median ratio ours / upstream.
//
// Each (threads, seconds, precision, batch size) case runs in a child process
// of its own, so that its peak RSS and GPU memory peak are its own. On CUDA a
// warm-up forward pass (cuDNN's first calls) is timed apart from the rest.
#include "benchmark/child_process.h"
#include "benchmark/median.h"
#include "benchmark/op_profile.h"
#include "benchmark/stopwatch.h"
#include "benchmark/upstream_runner.h"
#include "checkpoint/checkpoint_reader.h"
#include "network/compute_device.h"
#include "network/compute_precision.h"
#include "network/device_memory.h"
#include "network/htdemucs.h"
#include "network/official_architectures.h"
#include "network/torch_compat.h"
#include "separator/compute_threads.h"
#include "separator/stream_separator.h"

#include <ATen/ATen.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using demucs::benchmark::json_number;
using demucs::benchmark::median;
using demucs::benchmark::Stopwatch;

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

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

std::vector<std::string> parse_words(const std::string& text) {
  std::vector<std::string> values;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    values.push_back(item);
  }
  return values;
}

std::vector<double> parse_list(const std::string& text) {
  std::vector<double> values;
  for (const std::string& word : parse_words(text)) {
    values.push_back(std::stod(word));
  }
  return values;
}

std::string mib_or_null(std::int64_t bytes, bool known) {
  if (!known) {
    return "null";
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

struct Case {
  int threads = 1;
  double audio_seconds = 30;
  std::string precision = "fp32";
  int batch_size = 1;
};

std::string load_average() {
  double loads[3] = {0, 0, 0};
  if (getloadavg(loads, 3) != 3) {
    return "null";
  }
  char text[64];
  std::snprintf(text, sizeof text, "[%.2f, %.2f, %.2f]", loads[0], loads[1], loads[2]);
  return text;
}

// One case, in this process: prints one JSON object.
int run_case(const Case& c, const std::string& device_name, const std::string& checkpoint, bool profile_ops) {
  demucs::set_compute_threads(c.threads);
  const c10::Device device = demucs::parse_compute_device(device_name);
  const demucs::Precision precision = demucs::parse_precision(c.precision);
  const Stopwatch load_time;
  std::shared_ptr<demucs::HTDemucs> model =
      checkpoint.empty()
          ? demucs::HTDemucs::with_random_weights(demucs::official_htdemucs_kwargs(), device, 0, precision)
          : demucs::HTDemucs::from_checkpoint(demucs::read_checkpoint(checkpoint), device, precision);
  const double load_s = load_time.seconds();
  const double loaded_rss_mib = current_rss_mib();

  double warmup_s = 0;
  if (device.is_cuda()) {
    const Stopwatch warmup_time;
    const at::Tensor warm = model->forward(at::zeros({c.batch_size, 2, model->config().training_length()}));
    warm.cpu();  // waits for the GPU
    warmup_s = warmup_time.seconds();
  }

  demucs::SeparatorOptions options;
  options.threads = c.threads;
  options.batch_size = c.batch_size;
  demucs::StreamSeparator separator(model, options);
  const int rate = model->samplerate();
  const auto total = static_cast<int64_t>(c.audio_seconds * rate);
  at::manual_seed(1);
  if (profile_ops) {
    demucs::benchmark::start_op_profile();
  }
  const Stopwatch compute_time;
  int64_t produced = 0;
  for (int64_t done = 0; done < total; done += rate) {
    const at::Tensor piece = at::randn({2, std::min<int64_t>(rate, total - done)}) * 0.1;
    separator.push(piece);
    produced += separator.pull().size(-1);
  }
  separator.finish();
  produced += separator.pull().size(-1);
  const double compute_s = compute_time.seconds();
  if (produced != total) {
    std::cerr << "error: produced " << produced << " frames for " << total << "\n";
    return 1;
  }
  const std::optional<demucs::DeviceMemoryFigures> gpu = demucs::device_memory_figures(device);
  std::printf(
      "{\"device\": \"%s\", \"precision\": \"%s\", \"batch_size\": %d, \"threads\": %d, "
      "\"audio_seconds\": %.1f, \"load_seconds\": %.3f, \"warmup_seconds\": %.3f, \"compute_seconds\": %.2f, "
      "\"compute_per_audio_second\": %.4f, \"rss_after_load_mib\": %.1f, \"peak_rss_mib\": %.1f, \"gpu_peak_allocated_mib\": %s, "
      "\"gpu_peak_reserved_mib\": %s}\n",
      device.str().c_str(), c.precision.c_str(), c.batch_size, c.threads, c.audio_seconds, load_s, warmup_s,
      compute_s, compute_s / c.audio_seconds, loaded_rss_mib, peak_rss_mib(),
      mib_or_null(gpu ? gpu->peak_allocated_bytes : 0, gpu.has_value()).c_str(),
      mib_or_null(gpu ? gpu->peak_reserved_bytes : 0, gpu.has_value()).c_str());
  if (profile_ops) {
    demucs::benchmark::print_op_profile(stderr, 25);
  }
  return 0;
}

std::string run_child(const std::string& self, const Case& c, const std::string& device,
                      const std::string& checkpoint, bool profile_ops) {
  std::vector<std::string> arguments = {"--case", std::to_string(c.threads), std::to_string(c.audio_seconds),
                                        c.precision, std::to_string(c.batch_size), "--device", device};
  if (!checkpoint.empty()) {
    arguments.insert(arguments.end(), {"--checkpoint", checkpoint});
  }
  if (profile_ops) {
    arguments.emplace_back("--profile-ops");
  }
  const demucs::benchmark::ChildResult child = demucs::benchmark::run_child_process(self, arguments);
  if (!child.ok) {
    std::cerr << "error: the case with " << c.threads << " threads, " << c.audio_seconds << " s, " << c.precision
              << ", batch " << c.batch_size << " failed: " << child.failure << "\n";
  }
  return child.ok ? child.output : "";
}

// Upstream's apply_model for the same case, in a Python child process.
std::string run_upstream(const std::string& python, const std::string& upstream_src, const Case& c) {
  const demucs::benchmark::ChildResult child = demucs::benchmark::run_upstream_script(
      python, upstream_src, {"--threads", std::to_string(c.threads), "--seconds", std::to_string(c.audio_seconds)});
  if (!child.ok) {
    std::cerr << "error: upstream's apply_model failed: " << child.failure << "\n";
  }
  return child.ok ? child.output : "";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<double> threads = {1, 2};
  std::vector<double> durations = {30, 120};
  std::vector<std::string> precisions = {"fp32"};
  std::vector<double> batch_sizes = {1};
  std::string device = "cpu";
  std::string checkpoint;
  std::string upstream_src;
  std::string python;
  int repeats = 1;
  bool profile_ops = false;
  bool single_case = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--case" && i + 4 < argc) {  // internal: one case in this process
      single_case = true;
      threads = {std::atof(argv[i + 1])};
      durations = {std::atof(argv[i + 2])};
      precisions = {argv[i + 3]};
      batch_sizes = {std::atof(argv[i + 4])};
      i += 4;
    } else if (arg == "--threads" && has_value) {
      threads = parse_list(argv[++i]);
    } else if (arg == "--seconds" && has_value) {
      durations = parse_list(argv[++i]);
    } else if (arg == "--precision" && has_value) {
      precisions = parse_words(argv[++i]);
    } else if (arg == "--batch-size" && has_value) {
      batch_sizes = parse_list(argv[++i]);
    } else if (arg == "--device" && has_value) {
      device = argv[++i];
    } else if (arg == "--checkpoint" && has_value) {
      checkpoint = argv[++i];
    } else if (arg == "--upstream-src" && has_value) {
      upstream_src = argv[++i];
    } else if (arg == "--python" && has_value) {
      python = argv[++i];
    } else if (arg == "--repeats" && has_value) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--profile-ops") {
      profile_ops = true;
    } else {
      std::cerr << "usage: " << argv[0]
                << " [--threads 1,2] [--seconds 30,120] [--device cpu|cuda|auto] [--precision fp32,fp16,bf16]"
                   " [--batch-size 1,4,8] [--checkpoint FILE.th] [--upstream-src DIR [--python PATH]] [--repeats N]"
                   " [--profile-ops]\n";
      return 2;
    }
  }
  try {
    if (single_case) {
      return run_case({static_cast<int>(threads[0]), durations[0], precisions[0], static_cast<int>(batch_sizes[0])},
                      device, checkpoint, profile_ops);
    }
    // Refuse a device or precision this machine cannot run before any child starts.
    const c10::Device parsed = demucs::parse_compute_device(device);
    for (const std::string& precision : precisions) {
      demucs::check_precision_on_device(demucs::parse_precision(precision), parsed);
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  const std::string self = demucs::benchmark::this_program_path();
  // OMP_WAIT_POLICY=PASSIVE changes the figures a lot on few cores: say which.
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  std::cout << "{\"model\": \"" << (checkpoint.empty() ? "htdemucs architecture, random weights" : checkpoint)
            << "\", \"overlap\": 0.25, \"torch_version\": \"" << demucs::torch_compat::torch_version()
            << "\", \"device\": \"" << device << "\", \"gpu_memory_figures\": "
            << (demucs::device_memory_figures_available() ? "true" : "false") << ", \"omp_wait_policy\": \""
            << (wait_policy ? wait_policy : "default") << "\", \"cases\": [\n";
  const std::string upstream_python = upstream_src.empty() ? "" : demucs::benchmark::python_with_torch(python);
  if (!upstream_src.empty() && upstream_python.empty()) {
    std::cerr << "note: no Python with torch found (--python PATH): upstream's apply_model is not measured\n";
  }
  bool first = true;
  int failures = 0;
  const auto emit = [&](const std::string& implementation, int repeat, const std::string& load,
                        const std::string& result) {
    std::cout << (first ? "  " : ",\n  ") << "{\"implementation\": \"" << implementation
              << "\", \"repeat\": " << repeat << ", \"load_average_before\": " << load << ", "
              << result.substr(1) << std::flush;
    first = false;
  };
  for (double t : threads) {
    for (double s : durations) {
      for (const std::string& precision : precisions) {
        for (double batch : batch_sizes) {
          const Case c{static_cast<int>(t), s, precision, static_cast<int>(batch)};
          std::vector<double> ours, theirs;
          for (int repeat = 0; repeat < repeats; ++repeat) {
            std::string load = load_average();
            const std::string result = run_child(self, c, device, checkpoint, profile_ops);
            if (result.empty()) {
              ++failures;
              continue;
            }
            emit("demucs-vocals", repeat, load, result);
            ours.push_back(json_number(result, "compute_seconds"));
            if (!upstream_python.empty()) {
              load = load_average();
              const std::string upstream = run_upstream(upstream_python, upstream_src, c);
              if (upstream.empty()) {
                ++failures;
                continue;
              }
              emit("upstream", repeat, load, upstream);
              theirs.push_back(json_number(upstream, "compute_seconds"));
            }
          }
          if (!theirs.empty() && !ours.empty()) {
            char summary[256];
            std::snprintf(summary, sizeof summary,
                          "{\"summary\": true, \"threads\": %d, \"audio_seconds\": %.1f, \"median_ours_s\": %.2f, "
                          "\"median_upstream_s\": %.2f, \"ratio_ours_to_upstream\": %.3f}",
                          c.threads, c.audio_seconds, median(ours), median(theirs), median(ours) / median(theirs));
            std::cout << ",\n  " << summary << std::flush;
          }
        }
      }
    }
  }
  std::cout << "\n]}\n";
  return failures == 0 ? 0 : 1;
}
