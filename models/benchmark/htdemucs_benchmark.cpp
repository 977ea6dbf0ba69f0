// Speed and memory of separation with the full-size htdemucs architecture
// (random weights, or a real checkpoint with --checkpoint), streamed through
// the separator in one-second pieces. Prints JSON.
//
//   htdemucs-benchmark [--threads 1,2] [--seconds 30,120] [--checkpoint FILE.th]
//   OMP_WAIT_POLICY=PASSIVE htdemucs-benchmark ...   (what demucs-vocals itself uses)
//
// Each (threads, seconds) case runs in a child process of its own, so that
// its peak RSS is its own.
#include "benchmark/child_process.h"
#include "benchmark/stopwatch.h"
#include "network/official_architectures.h"
#include "checkpoint/checkpoint_reader.h"
#include "network/htdemucs.h"
#include "separator/compute_threads.h"
#include "separator/stream_separator.h"

#include <ATen/ATen.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using demucs::benchmark::Stopwatch;

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

// One case, in this process: prints one JSON object.
int run_case(int threads, double audio_seconds, const std::string& checkpoint) {
  demucs::set_compute_threads(threads);
  const Stopwatch load_time;
  std::shared_ptr<demucs::HTDemucs> model =
      checkpoint.empty() ? demucs::HTDemucs::with_random_weights(demucs::official_htdemucs_kwargs(), at::kCPU)
                         : demucs::HTDemucs::from_checkpoint(demucs::read_checkpoint(checkpoint), at::kCPU);
  const double load_s = load_time.seconds();

  demucs::SeparatorOptions options;
  options.threads = threads;
  demucs::StreamSeparator separator(model, options);
  const int rate = model->samplerate();
  const auto total = static_cast<int64_t>(audio_seconds * rate);
  at::manual_seed(1);
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
  std::printf(
      "{\"threads\": %d, \"audio_seconds\": %.1f, \"load_seconds\": %.3f, \"compute_seconds\": %.2f, "
      "\"compute_per_audio_second\": %.4f, \"peak_rss_mib\": %.1f}\n",
      threads, audio_seconds, load_s, compute_s, compute_s / audio_seconds, peak_rss_mib());
  return 0;
}

std::string run_child(const std::string& self, int threads, double audio_seconds, const std::string& checkpoint) {
  std::vector<std::string> arguments = {"--case", std::to_string(threads), std::to_string(audio_seconds)};
  if (!checkpoint.empty()) {
    arguments.insert(arguments.end(), {"--checkpoint", checkpoint});
  }
  const demucs::benchmark::ChildResult child = demucs::benchmark::run_child_process(self, arguments);
  if (!child.ok) {
    std::cerr << "error: the case with " << threads << " threads, " << audio_seconds << " s failed: " << child.failure
              << "\n";
  }
  return child.ok ? child.output : "";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<double> threads = {1, 2};
  std::vector<double> durations = {30, 120};
  std::string checkpoint;
  bool single_case = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--case" && i + 2 < argc) {  // internal: one case in this process
      single_case = true;
      threads = {std::atof(argv[i + 1])};
      durations = {std::atof(argv[i + 2])};
      i += 2;
    } else if (arg == "--threads" && has_value) {
      threads = parse_list(argv[++i]);
    } else if (arg == "--seconds" && has_value) {
      durations = parse_list(argv[++i]);
    } else if (arg == "--checkpoint" && has_value) {
      checkpoint = argv[++i];
    } else {
      std::cerr << "usage: " << argv[0] << " [--threads 1,2] [--seconds 30,120] [--checkpoint FILE.th]\n";
      return 2;
    }
  }
  if (single_case) {
    return run_case(static_cast<int>(threads[0]), durations[0], checkpoint);
  }
  const std::string self = demucs::benchmark::this_program_path();
  // OMP_WAIT_POLICY=PASSIVE changes the figures a lot on few cores: say which.
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  std::cout << "{\"model\": \"" << (checkpoint.empty() ? "htdemucs architecture, random weights" : checkpoint)
            << "\", \"overlap\": 0.25, \"omp_wait_policy\": \"" << (wait_policy ? wait_policy : "default")
            << "\", \"cases\": [\n";
  bool first = true;
  int failures = 0;
  for (double t : threads) {
    for (double s : durations) {
      const std::string result = run_child(self, static_cast<int>(t), s, checkpoint);
      if (result.empty()) {
        ++failures;
        continue;
      }
      std::cout << (first ? "  " : ",\n  ") << result << std::flush;
      first = false;
    }
  }
  std::cout << "\n]}\n";
  return failures == 0 ? 0 : 1;
}
