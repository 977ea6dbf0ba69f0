// daemon-benchmark: the REST daemon's throughput and memory, as one JSON
// object on stdout (a program, not a test; issue 4).
//
//   uploads  POST /upload of tests/data/mix.wav (1 MB, 6 s) N times, as fast
//            as one client can (one connection per request), then from 4
//            client threads at once: uploads/s accepted, MB/s, median latency.
//            The daemon (--max-jobs 1) separates the queued jobs meanwhile.
//   jobs     From the first of N uploads of the mix to the last job
//            completed, with the tiny test model, for each --max-jobs value.
//   requests GET /status/{id} of one finished job, --requests times from one
//            client and then from 16 client threads, each thread keeping its
//            connection (libsoup session): requests/s and median latency.
//   slow     200 connections that send half a request head and then wait
//            (slowloris), held while a normal client asks GET /health 20
//            times: its median and worst time, against the same without them.
//   worker   What a job's worker process costs: `demucs-vocalsd worker
//            separate` on the mix, --worker-runs times (time to its "started"
//            line, to its first progress, to "done"), against the in-process
//            pipeline the daemon ran before (SeparationPipeline::run in this
//            process, the model already loaded and held by a demucsvocals
//            element in READY): first progress and done. With the tiny model,
//            and with --full-model FILE.th (a full-size htdemucs checkpoint;
//            pipeline-benchmark --keep-temp writes one with random weights).
//   nodes    Several nodes on one PostgreSQL (a throwaway server, as the
//            tests start it) and one data folder: an api node takes
//            --node-jobs (24) uploads of the mix at once, and 1, 2, then 3
//            worker nodes (--max-jobs 1 each) run them: jobs per minute, and
//            per CPU-minute of the daemons and their workers (getrusage of
//            the reaped children; PostgreSQL's own CPU not counted). Then
//            the claim latency (an upload's 200 to "processing" on the api
//            node, idle workers, median of 10) and the time from SIGKILL of
//            the worker node running a long job to the job running on the
//            other one (--job-lease, default 30 s).
//   memory   A fresh daemon (--max-upload-mb 200) separates the mix once,
//            then takes a ~100 MB WAV: VmHWM (reset to the RSS of the moment
//            just before) right after the 200 response, and the highest VmRSS
//            sampled every 50 ms during the upload. Its job is then cancelled.
//
// Every daemon is the build's demucs-vocalsd with the tiny model
// tests/data/htdemucs-tiny-4s.th on the CPU, on a free loopback port, in a
// temporary folder that is removed at the end.
#include "daemon_process.h"
#include "http_client.h"
#include "postgres_server.h"
#include "raw_connection.h"

#include "demucs_plugin_location.h"
#include "separation_pipeline.h"

#include <libsoup/soup.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sys/resource.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace demucs::testing;
using demucs::SeparationPipeline;
using demucs::SeparationResult;
using demucs::SeparationSettings;
using demucs::initialize_gstreamer_with_demucs_plugin;

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

struct Options {
  int uploads = 50;
  int jobs = 8;
  std::vector<int> max_jobs = {1};
  int upload_mb = 100;
  int upload_threads = 4;
  int requests = 2000;
  int slow_connections = 200;
  int worker_runs = 3;
  std::string full_model;
  int node_jobs = 24;
  int job_lease = 30;
  std::string only;  // "", "uploads", "jobs", "requests", "slow", "worker", "nodes" or "memory"
};

[[noreturn]] void usage(const std::string &why) {
  std::fprintf(stderr,
               "daemon-benchmark: %s\n"
               "usage: daemon-benchmark [--uploads N] [--jobs N] [--max-jobs N[,N...]] [--upload-mb N]\n"
               "                        [--threads N] [--requests N] [--slow N] [--worker-runs N]\n"
               "                        [--full-model FILE.th] [--node-jobs N] [--job-lease SECONDS]\n"
               "                        [--only=uploads|jobs|requests|slow|worker|nodes|memory]\n",
               why.c_str());
  std::exit(2);
}

int positive(const std::string &option, const std::string &text) {
  try {
    std::size_t used = 0;
    const int value = std::stoi(text, &used);
    if (used == text.size() && value > 0) return value;
  } catch (const std::exception &) {
  }
  usage(option + " expects a whole number above 0 (got \"" + text + "\")");
}

Options parse_options(int argc, char **argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    std::string value;
    const std::size_t equals = argument.find('=');
    if (argument.rfind("--", 0) == 0 && equals != std::string::npos) {
      value = argument.substr(equals + 1);
      argument.erase(equals);
    } else if (argument != "--help" && argument != "-h") {
      if (i + 1 >= argc) usage(argument + " needs a value");
      value = argv[++i];
    }
    if (argument == "--uploads") {
      options.uploads = positive(argument, value);
    } else if (argument == "--jobs") {
      options.jobs = positive(argument, value);
    } else if (argument == "--max-jobs") {
      options.max_jobs.clear();
      gchar **parts = g_strsplit(value.c_str(), ",", -1);
      for (gchar **part = parts; *part; ++part) options.max_jobs.push_back(positive(argument, *part));
      g_strfreev(parts);
    } else if (argument == "--upload-mb") {
      options.upload_mb = positive(argument, value);
    } else if (argument == "--threads") {
      options.upload_threads = positive(argument, value);
    } else if (argument == "--requests") {
      options.requests = positive(argument, value);
    } else if (argument == "--slow") {
      options.slow_connections = positive(argument, value);
    } else if (argument == "--worker-runs") {
      options.worker_runs = positive(argument, value);
    } else if (argument == "--full-model") {
      options.full_model = value;
    } else if (argument == "--node-jobs") {
      options.node_jobs = positive(argument, value);
    } else if (argument == "--job-lease") {
      options.job_lease = positive(argument, value);
    } else if (argument == "--only") {
      if (value != "uploads" && value != "jobs" && value != "requests" && value != "slow" && value != "worker" &&
          value != "nodes" && value != "memory")
        usage("--only is uploads, jobs, requests, slow, worker, nodes or memory");
      options.only = value;
    } else if (argument == "--help" || argument == "-h") {
      usage("the REST daemon's uploads/s, job throughput and memory during a large upload, as JSON");
    } else {
      usage("unknown option " + argument);
    }
  }
  return options;
}

void set_default_env(const char *name, const std::string &value) {
  const char *current = g_getenv(name);
  if (current == nullptr || *current == '\0') g_setenv(name, value.c_str(), TRUE);
}

double now_seconds() { return static_cast<double>(g_get_monotonic_time()) / G_USEC_PER_SEC; }

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double round3(double value) { return static_cast<double>(std::llround(value * 1000)) / 1000; }

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// A /proc/PID/status field in KiB (VmRSS, VmHWM); -1 if unknown.
long proc_status_kib(const std::string &pid, const char *field) {
  if (pid.empty()) return -1;
  std::ifstream status("/proc/" + pid + "/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(status, line))
    if (line.rfind(prefix, 0) == 0) return std::stol(line.substr(prefix.size()));
  return -1;
}

// A temporary folder, removed with what is in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = std::string(g_get_tmp_dir()) + "/daemon-benchmark-XXXXXX";
    if (g_mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string &name) const { return path_ + "/" + name; }
  const std::string &path() const { return path_; }

 private:
  std::string path_;
};

// A started daemon whose model is loaded; throws if it is not.
std::unique_ptr<DaemonProcess> start_daemon(const TempDir &temp, const std::string &name,
                                            std::vector<std::string> extra) {
  auto daemon = std::make_unique<DaemonProcess>(temp.file(name), std::move(extra));
  if (daemon->url().empty()) throw std::runtime_error("demucs-vocalsd did not start:\n" + daemon->log());
  const bool ready = wait_until(
      [&] { return http_get(daemon->url("health")).body.find("\"model_loaded\":true") != std::string::npos; }, 120);
  if (!ready) throw std::runtime_error("the daemon's model did not load:\n" + daemon->log());
  return daemon;
}

std::string job_id_of(const HttpResponse &response) {
  if (response.status != 200 || response.json_string("status") != "pending")
    throw std::runtime_error("upload not accepted: " + std::to_string(response.status) + " " + response.body +
                             response.transport_error);
  return response.json_string("job_id");
}

// The mix's data chunk, and its byte rate, from a 16-bit PCM WAV.
struct PcmWav {
  std::string format_chunk;  // "fmt " chunk, header included
  std::string data;
  std::uint32_t byte_rate = 0;
};

std::uint32_t le32(const std::string &bytes, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 3])) << 24;
}

void put_le32(std::string &bytes, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

PcmWav read_pcm_wav(const std::string &path) {
  const std::string bytes = read_file_bytes(path);
  if (bytes.size() < 12 || bytes.compare(0, 4, "RIFF") != 0 || bytes.compare(8, 4, "WAVE") != 0)
    throw std::runtime_error(path + " is not a WAV file");
  PcmWav wav;
  for (std::size_t at = 12; at + 8 <= bytes.size();) {
    const std::string id = bytes.substr(at, 4);
    const std::uint32_t size = le32(bytes, at + 4);
    if (id == "fmt ") {
      wav.format_chunk = bytes.substr(at, 8 + size);
      wav.byte_rate = le32(bytes, at + 16);
    } else if (id == "data") {
      wav.data = bytes.substr(at + 8, std::min<std::size_t>(size, bytes.size() - at - 8));
    }
    at += 8 + size + (size & 1);
  }
  if (wav.format_chunk.empty() || wav.data.empty() || wav.byte_rate == 0)
    throw std::runtime_error(path + " has no fmt or data chunk");
  return wav;
}

// The mix repeated to about `megabytes` MB (10^6 bytes), a valid WAV.
std::string long_wav(const PcmWav &mix, int megabytes) {
  const std::size_t target = static_cast<std::size_t>(megabytes) * 1000 * 1000;
  const std::size_t copies = std::max<std::size_t>(1, target / mix.data.size());
  const std::size_t data_size = copies * mix.data.size();
  std::string bytes = "RIFF";
  put_le32(bytes, static_cast<std::uint32_t>(4 + mix.format_chunk.size() + 8 + data_size));
  bytes += "WAVE";
  bytes += mix.format_chunk;
  bytes += "data";
  put_le32(bytes, static_cast<std::uint32_t>(data_size));
  bytes.reserve(bytes.size() + data_size);
  for (std::size_t i = 0; i < copies; ++i) bytes += mix.data;
  return bytes;
}

// ---------------------------------------------------------------------------

JsonNode *uploads_case(const TempDir &temp, const Options &options, const std::string &mix_path) {
  MultipartBody body;
  body.file("file", "mix.wav", read_file_bytes(mix_path));
  const std::string content_type = body.content_type();
  const std::string bytes = body.bytes();
  const double megabytes = static_cast<double>(bytes.size()) / 1e6;

  auto daemon = start_daemon(temp, "uploads", {"--max-jobs", "1", "--max-queue", "1000000"});
  JsonBuilder *builder = json_builder_new();
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "file_mb");
  json_builder_add_double_value(builder, round3(megabytes));
  json_builder_set_member_name(builder, "daemon_options");
  json_builder_add_string_value(builder, "--max-jobs 1 --max-queue 1000000");

  auto run = [&](const char *name, int threads) {
    std::vector<double> latencies(static_cast<std::size_t>(options.uploads));
    std::atomic<int> next{0}, accepted{0};
    std::mutex errors_lock;
    std::string first_error;
    const double start = now_seconds();
    auto client = [&] {
      for (int i = next++; i < options.uploads; i = next++) {
        const double begin = now_seconds();
        const HttpResponse response = http_post(daemon->url("upload"), content_type, bytes);
        latencies[static_cast<std::size_t>(i)] = now_seconds() - begin;
        if (response.status == 200 && response.json_string("status") == "pending") {
          ++accepted;
        } else {
          std::lock_guard<std::mutex> lock(errors_lock);
          if (first_error.empty())
            first_error = std::to_string(response.status) + " " + response.body + response.transport_error;
        }
      }
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(client);
    for (std::thread &thread : pool) thread.join();
    const double seconds = now_seconds() - start;
    std::sort(latencies.begin(), latencies.end());

    json_builder_set_member_name(builder, name);
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "client_threads");
    json_builder_add_int_value(builder, threads);
    json_builder_set_member_name(builder, "uploads");
    json_builder_add_int_value(builder, options.uploads);
    json_builder_set_member_name(builder, "accepted");
    json_builder_add_int_value(builder, accepted);
    json_builder_set_member_name(builder, "seconds");
    json_builder_add_double_value(builder, round3(seconds));
    json_builder_set_member_name(builder, "uploads_per_second");
    json_builder_add_double_value(builder, round3(accepted / seconds));
    json_builder_set_member_name(builder, "mb_per_second");
    json_builder_add_double_value(builder, round3(accepted * megabytes / seconds));
    json_builder_set_member_name(builder, "median_latency_ms");
    json_builder_add_double_value(builder, round3(median(latencies) * 1000));
    json_builder_set_member_name(builder, "max_latency_ms");
    json_builder_add_double_value(builder, round3(latencies.back() * 1000));
    if (!first_error.empty()) {
      json_builder_set_member_name(builder, "first_error");
      json_builder_add_string_value(builder, first_error.c_str());
    }
    json_builder_end_object(builder);
  };
  run("sequential", 1);
  run("concurrent", options.upload_threads);

  // How much separating went on in the background meanwhile.
  int completed = 0, processing = 0;
  const HttpResponse jobs = http_get(daemon->url("jobs"));
  for (std::size_t at = 0; (at = jobs.body.find("\"status\":\"", at)) != std::string::npos;) {
    at += 10;
    if (jobs.body.compare(at, 9, "completed") == 0) ++completed;
    if (jobs.body.compare(at, 10, "processing") == 0) ++processing;
  }
  json_builder_set_member_name(builder, "jobs_completed_meanwhile");
  json_builder_add_int_value(builder, completed);
  json_builder_set_member_name(builder, "jobs_processing_at_end");
  json_builder_add_int_value(builder, processing);
  json_builder_end_object(builder);
  daemon->stop();
  JsonNode *root = json_builder_get_root(builder);
  g_object_unref(builder);
  return root;
}

// GET `url` `count` times on one kept-alive connection; the latencies.
std::vector<double> get_many(const std::string &url, int count, int &failures) {
  std::vector<double> latencies;
  SoupSession *session = soup_session_new_with_options("timeout", 30, nullptr);
  for (int i = 0; i < count; ++i) {
    SoupMessage *message = soup_message_new("GET", url.c_str());
    const double begin = now_seconds();
    GBytes *body = soup_session_send_and_read(session, message, nullptr, nullptr);
    latencies.push_back(now_seconds() - begin);
    if (body == nullptr || soup_message_get_status(message) != 200) ++failures;
    if (body) g_bytes_unref(body);
    g_object_unref(message);
  }
  g_object_unref(session);
  return latencies;
}

JsonNode *requests_case(const TempDir &temp, const Options &options, const std::string &mix_path) {
  auto daemon = start_daemon(temp, "requests", {});
  const std::string id = job_id_of(upload_file(daemon->url(), mix_path, "mix.wav"));
  wait_until([&] { return http_get(daemon->url("status/" + id)).json_string("status") == "completed"; }, 120);
  const std::string url = daemon->url("status/" + id);

  JsonBuilder *builder = json_builder_new();
  json_builder_begin_object(builder);
  for (const int threads : {1, 16}) {
    std::vector<std::vector<double>> latencies(static_cast<std::size_t>(threads));
    std::atomic<int> failures{0};
    const int each = std::max(1, options.requests / threads);
    const double start = now_seconds();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        int failed = 0;
        latencies[static_cast<std::size_t>(t)] = get_many(url, each, failed);
        failures += failed;
      });
    for (std::thread &thread : pool) thread.join();
    const double seconds = now_seconds() - start;
    std::vector<double> all;
    for (const auto &list : latencies) all.insert(all.end(), list.begin(), list.end());
    json_builder_set_member_name(builder, threads == 1 ? "one_client" : "sixteen_clients");
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "requests");
    json_builder_add_int_value(builder, static_cast<gint64>(all.size()));
    json_builder_set_member_name(builder, "failures");
    json_builder_add_int_value(builder, failures);
    json_builder_set_member_name(builder, "requests_per_second");
    json_builder_add_double_value(builder, round3(all.size() / seconds));
    json_builder_set_member_name(builder, "median_latency_ms");
    json_builder_add_double_value(builder, round3(median(all) * 1000));
    json_builder_end_object(builder);
  }
  json_builder_end_object(builder);
  daemon->stop();
  JsonNode *root = json_builder_get_root(builder);
  g_object_unref(builder);
  return root;
}

JsonNode *slow_case(const TempDir &temp, const Options &options) {
  auto daemon = start_daemon(temp, "slow", {"--idle-timeout", "30"});
  auto normal_client = [&](const char *name, JsonBuilder *builder) {
    int failures = 0;
    std::vector<double> latencies;
    for (int i = 0; i < 20; ++i) {
      const std::vector<double> one = get_many(daemon->url("health"), 1, failures);  // a new connection each
      latencies.push_back(one.front());
    }
    std::sort(latencies.begin(), latencies.end());
    json_builder_set_member_name(builder, name);
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "median_ms");
    json_builder_add_double_value(builder, round3(median(latencies) * 1000));
    json_builder_set_member_name(builder, "worst_ms");
    json_builder_add_double_value(builder, round3(latencies.back() * 1000));
    json_builder_set_member_name(builder, "failures");
    json_builder_add_int_value(builder, failures);
    json_builder_end_object(builder);
  };
  JsonBuilder *builder = json_builder_new();
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "slow_connections");
  json_builder_add_int_value(builder, options.slow_connections);
  normal_client("without_slow_connections", builder);
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < options.slow_connections; ++i) {
    slow.push_back(std::make_unique<RawConnection>(daemon->port()));
    slow.back()->send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
  }
  normal_client("with_slow_connections", builder);
  slow.clear();
  json_builder_end_object(builder);
  daemon->stop();
  JsonNode *root = json_builder_get_root(builder);
  g_object_unref(builder);
  return root;
}

struct RunTimes {
  double started = -1;         // the worker's "started" line
  double first_progress = -1;  // the first progress report
  double done = -1;
};

// `demucs-vocalsd worker separate` on `input`, timed from the spawn.
RunTimes time_worker(const std::string &model, const std::string &input, const std::string &output) {
  RunTimes times;
  const double start = now_seconds();
  GError *error = nullptr;
  GSubprocess *process = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, DEMUCS_VOCALSD_PROGRAM, "worker",
                                          "separate", "--input", input.c_str(), "--output", output.c_str(), "--format",
                                          "wav", "--model", model.c_str(), "--device", "cpu", "--stem", "vocals",
                                          nullptr);
  if (process == nullptr) throw std::runtime_error(std::string("cannot start a worker: ") + error->message);
  GDataInputStream *lines = g_data_input_stream_new(g_subprocess_get_stdout_pipe(process));
  while (gchar *line = g_data_input_stream_read_line_utf8(lines, nullptr, nullptr, nullptr)) {
    const std::string text = line;
    g_free(line);
    const double at = now_seconds() - start;
    if (text.find("\"started\"") != std::string::npos) times.started = at;
    if (text.find("\"progress\"") != std::string::npos && times.first_progress < 0) times.first_progress = at;
    if (text.find("\"done\"") != std::string::npos) times.done = at;
    if (text.find("\"error\"") != std::string::npos) throw std::runtime_error("the worker failed: " + text);
  }
  g_subprocess_wait(process, nullptr, nullptr);
  g_object_unref(lines);
  g_object_unref(process);
  return times;
}

// SeparationPipeline::run in this process, the model already loaded.
RunTimes time_in_process(const std::string &model, const std::string &input, const std::string &output) {
  RunTimes times;
  SeparationSettings settings;
  settings.input_path = input;
  settings.output_path = output;
  settings.model = model;
  settings.device = "cpu";
  settings.stem = "vocals";
  const double start = now_seconds();
  const SeparationResult result = SeparationPipeline::run(settings, [&](double, GstClockTime, GstClockTime) {
    if (times.first_progress < 0) times.first_progress = now_seconds() - start;
  });
  if (!result.ok) throw std::runtime_error("the in-process pipeline failed: " + result.error_message);
  times.done = now_seconds() - start;
  return times;
}

JsonNode *worker_case(const TempDir &temp, const Options &options, const std::string &mix_path) {
  initialize_gstreamer_with_demucs_plugin();
  std::vector<std::pair<std::string, std::string>> models = {
      {"tiny", std::string(g_getenv("DEMUCS_TEST_DATA")) + "/htdemucs-tiny-4s.th"}};
  if (!options.full_model.empty()) models.push_back({"full_size", options.full_model});

  JsonBuilder *builder = json_builder_new();
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "runs");
  json_builder_add_int_value(builder, options.worker_runs);
  for (const auto &[name, model] : models) {
    // The model held loaded in this process, as the daemon held it before.
    GstElement *holder = gst_element_factory_make("demucsvocals", nullptr);
    if (holder == nullptr) throw std::runtime_error("no demucsvocals element");
    g_object_set(holder, "model", model.c_str(), "device", "cpu", nullptr);
    if (gst_element_set_state(holder, GST_STATE_READY) == GST_STATE_CHANGE_FAILURE)
      throw std::runtime_error("cannot load " + model);
    std::vector<double> started, worker_first, worker_done, inline_first, inline_done;
    for (int run = 0; run < options.worker_runs; ++run) {
      const RunTimes worker = time_worker(model, mix_path, temp.file("worker-out.wav"));
      const RunTimes in_process = time_in_process(model, mix_path, temp.file("inline-out.wav"));
      started.push_back(worker.started);
      worker_first.push_back(worker.first_progress);
      worker_done.push_back(worker.done);
      inline_first.push_back(in_process.first_progress);
      inline_done.push_back(in_process.done);
    }
    gst_element_set_state(holder, GST_STATE_NULL);
    gst_object_unref(holder);

    json_builder_set_member_name(builder, name.c_str());
    json_builder_begin_object(builder);
    auto member = [&](const char *key, const std::vector<double> &values) {
      json_builder_set_member_name(builder, key);
      json_builder_add_double_value(builder, round3(median(values)));
    };
    member("worker_started_s", started);
    member("worker_first_progress_s", worker_first);
    member("worker_done_s", worker_done);
    member("in_process_first_progress_s", inline_first);
    member("in_process_done_s", inline_done);
    std::vector<double> overhead;
    for (std::size_t i = 0; i < worker_done.size(); ++i) overhead.push_back(worker_done[i] - inline_done[i]);
    member("overhead_per_job_s", overhead);
    json_builder_end_object(builder);
  }
  json_builder_end_object(builder);
  JsonNode *root = json_builder_get_root(builder);
  g_object_unref(builder);
  return root;
}

JsonNode *jobs_case(const TempDir &temp, const Options &options, const std::string &mix_path, double mix_seconds,
                    int max_jobs) {
  MultipartBody body;
  body.file("file", "mix.wav", read_file_bytes(mix_path));
  const std::string content_type = body.content_type();
  const std::string bytes = body.bytes();

  auto daemon = start_daemon(temp, "jobs-" + std::to_string(max_jobs),
                             {"--max-jobs", std::to_string(max_jobs), "--max-queue", "1000000"});
  const double start = now_seconds();
  std::vector<std::string> ids;
  for (int i = 0; i < options.jobs; ++i) ids.push_back(job_id_of(http_post(daemon->url("upload"), content_type, bytes)));
  const double uploaded = now_seconds() - start;

  // Poll each unfinished job every 50 ms.
  std::set<std::string> left(ids.begin(), ids.end());
  int failed = 0;
  std::string first_error;
  const bool done = wait_until([&] {
    for (auto it = left.begin(); it != left.end();) {
      const HttpResponse status = http_get(daemon->url("status/" + *it));
      const std::string state = status.json_string("status");
      if (state == "completed" || state == "error") {
        if (state == "error") {
          ++failed;
          if (first_error.empty()) first_error = status.json_string("error_message");
        }
        it = left.erase(it);
      } else {
        ++it;
      }
    }
    return left.empty();
  }, 3600);
  const double seconds = now_seconds() - start;
  daemon->stop();
  if (!done) throw std::runtime_error("the jobs did not finish within an hour");

  JsonBuilder *builder = json_builder_new();
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "max_jobs");
  json_builder_add_int_value(builder, max_jobs);
  json_builder_set_member_name(builder, "jobs");
  json_builder_add_int_value(builder, options.jobs);
  json_builder_set_member_name(builder, "failed");
  json_builder_add_int_value(builder, failed);
  if (!first_error.empty()) {
    json_builder_set_member_name(builder, "first_error");
    json_builder_add_string_value(builder, first_error.c_str());
  }
  json_builder_set_member_name(builder, "audio_seconds_per_job");
  json_builder_add_double_value(builder, round3(mix_seconds));
  json_builder_set_member_name(builder, "upload_seconds");
  json_builder_add_double_value(builder, round3(uploaded));
  json_builder_set_member_name(builder, "seconds");
  json_builder_add_double_value(builder, round3(seconds));
  json_builder_set_member_name(builder, "seconds_per_job");
  json_builder_add_double_value(builder, round3(seconds / options.jobs));
  json_builder_set_member_name(builder, "audio_seconds_per_second");
  json_builder_add_double_value(builder, round3(options.jobs * mix_seconds / seconds));
  json_builder_end_object(builder);
  JsonNode *root = json_builder_get_root(builder);
  g_object_unref(builder);
  return root;
}

// CPU seconds (user + system) of the children reaped so far, with theirs.
double children_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// A node on `database` and the shared folder `data_dir`; worker nodes are
// waited for until their model is loaded.
std::unique_ptr<DaemonProcess> start_node(const std::string &data_dir, const std::string &database,
                                          const std::string &role, const std::string &name,
                                          const Options &options) {
  auto node = std::make_unique<DaemonProcess>(
      data_dir, std::vector<std::string>{"--database", database, "--role", role, "--node-name", name, "--max-queue",
                                         "1000000", "--job-lease", std::to_string(options.job_lease)});
  if (node->url().empty()) throw std::runtime_error("demucs-vocalsd did not start:\n" + node->log());
  if (role != "api" &&
      !wait_until([&] { return http_get(node->url("health")).body.find("\"model_loaded\":true") != std::string::npos; },
                  120))
    throw std::runtime_error("a worker node's model did not load:\n" + node->log());
  return node;
}

bool job_finished(const DaemonProcess &node, const std::string &id) {
  const std::string state = http_get(node.url("status/" + id)).json_string("status");
  return state == "completed" || state == "error";
}

JsonNode *nodes_case(const TempDir &temp, const Options &options, const std::string &mix_path, double mix_seconds) {
  PostgresServer server;
  if (!server.ok()) throw std::runtime_error(server.problem());
  MultipartBody body;
  body.file("file", "mix.wav", read_file_bytes(mix_path));
  const std::string content_type = body.content_type();
  const std::string bytes = body.bytes();

  JsonBuilder *builder = json_builder_new();
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "throughput");
  json_builder_begin_array(builder);
  for (int workers = 1; workers <= 3; ++workers) {
    const std::string name = "nodes-" + std::to_string(workers);
    const std::string database = server.create_database(name);
    const double cpu_before = children_cpu_seconds();
    {
      auto api = start_node(temp.file(name), database, "api", "api", options);
      std::vector<std::unique_ptr<DaemonProcess>> nodes;
      for (int i = 0; i < workers; ++i)
        nodes.push_back(start_node(temp.file(name), database, "worker", "worker-" + std::to_string(i + 1), options));
      const double start = now_seconds();
      std::vector<std::string> ids;
      for (int i = 0; i < options.node_jobs; ++i)
        ids.push_back(job_id_of(http_post(api->url("upload"), content_type, bytes)));
      std::set<std::string> left(ids.begin(), ids.end());
      const bool done = wait_until([&] {
        for (auto it = left.begin(); it != left.end();) it = job_finished(*api, *it) ? left.erase(it) : std::next(it);
        return left.empty();
      }, 3600);
      const double seconds = now_seconds() - start;
      if (!done) throw std::runtime_error("the jobs did not finish within an hour");
      const std::string failed = server.query(name, "SELECT count(*) FROM demucs_jobs WHERE status = 'error'");
      for (auto &node : nodes) node->stop();
      api->stop();
      const double cpu_seconds = children_cpu_seconds() - cpu_before;
      json_builder_begin_object(builder);
      json_builder_set_member_name(builder, "worker_nodes");
      json_builder_add_int_value(builder, workers);
      json_builder_set_member_name(builder, "jobs");
      json_builder_add_int_value(builder, options.node_jobs);
      json_builder_set_member_name(builder, "failed");
      json_builder_add_int_value(builder, std::atoi(failed.c_str()));
      json_builder_set_member_name(builder, "audio_seconds_per_job");
      json_builder_add_double_value(builder, round3(mix_seconds));
      json_builder_set_member_name(builder, "seconds");
      json_builder_add_double_value(builder, round3(seconds));
      json_builder_set_member_name(builder, "jobs_per_minute");
      json_builder_add_double_value(builder, round3(options.node_jobs * 60.0 / seconds));
      json_builder_set_member_name(builder, "cpu_seconds");  // daemons and workers, start-up included
      json_builder_add_double_value(builder, round3(cpu_seconds));
      json_builder_set_member_name(builder, "jobs_per_cpu_minute");
      json_builder_add_double_value(builder, round3(options.node_jobs * 60.0 / cpu_seconds));
      json_builder_end_object(builder);
    }
  }
  json_builder_end_array(builder);

  // Claim latency, and a worker node's death.
  const std::string database = server.create_database("nodes-latency");
  auto api = start_node(temp.file("nodes-latency"), database, "api", "api", options);
  auto first = start_node(temp.file("nodes-latency"), database, "worker", "first", options);
  std::vector<double> latencies;
  for (int i = 0; i < 10; ++i) {
    const std::string id = job_id_of(http_post(api->url("upload"), content_type, bytes));
    const double uploaded = now_seconds();
    double claimed = 0;
    while (now_seconds() - uploaded < 30) {
      const std::string state = http_get(api->url("status/" + id)).json_string("status");
      if (state != "pending") {
        claimed = now_seconds();
        break;
      }
      g_usleep(2000);
    }
    if (claimed == 0) throw std::runtime_error("a job was not claimed within 30 s");
    latencies.push_back(claimed - uploaded);
    wait_until([&] { return job_finished(*api, id); }, 600);
  }
  json_builder_set_member_name(builder, "claim_latency_ms");
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "median");
  json_builder_add_double_value(builder, round3(median(latencies) * 1000));
  json_builder_set_member_name(builder, "max");
  json_builder_add_double_value(builder, round3(*std::max_element(latencies.begin(), latencies.end()) * 1000));
  json_builder_end_object(builder);

  // A long job (the mix 30 times) on `first`; `second` waits idle.
  const std::string long_path = temp.file("long.wav");
  {
    const PcmWav mix = read_pcm_wav(mix_path);
    write_file_bytes(long_path, long_wav(mix, static_cast<int>(mix.data.size() * 30 / (1000 * 1000)) + 1));
  }
  MultipartBody long_body;
  long_body.file("file", "long.wav", read_file_bytes(long_path));
  const std::string long_id = job_id_of(http_post(api->url("upload"), long_body.content_type(), long_body.bytes()));
  if (!wait_until([&] { return http_get(api->url("status/" + long_id)).json_number("progress") >= 1; }, 120))
    throw std::runtime_error("the long job did not start");
  auto second = start_node(temp.file("nodes-latency"), database, "worker", "second", options);
  const double killed = now_seconds();
  first->kill();
  const std::string taken = "job " + long_id + ": processing on node second";
  if (!wait_until([&] { return second->log().find(taken) != std::string::npos; }, options.job_lease * 3 + 30))
    throw std::runtime_error("the dead node's job did not run elsewhere:\n" + second->log());
  const double takeover = now_seconds() - killed;
  json_builder_set_member_name(builder, "job_lease_seconds");
  json_builder_add_int_value(builder, options.job_lease);
  json_builder_set_member_name(builder, "death_to_rerun_seconds");
  json_builder_add_double_value(builder, round3(takeover));
  second->stop();
  api->stop();
  json_builder_end_object(builder);
  JsonNode *root = json_builder_get_root(builder);
  g_object_unref(builder);
  return root;
}

JsonNode *memory_case(const TempDir &temp, const Options &options, const std::string &mix_path,
                      const PcmWav &mix) {
  // The body is built here, in the benchmark, before the daemon starts.
  std::string bytes;
  std::string content_type;
  double file_mb = 0, audio_seconds = 0;
  {
    const std::string wav = long_wav(mix, options.upload_mb);
    file_mb = static_cast<double>(wav.size()) / 1e6;
    audio_seconds = static_cast<double>(wav.size() - 44) / mix.byte_rate;
    MultipartBody body;
    body.file("file", "long.wav", wav);
    content_type = body.content_type();
    bytes = body.bytes();
  }
  const int limit_mb = std::max(200, options.upload_mb * 2);
  auto daemon = start_daemon(temp, "memory", {"--max-jobs", "1", "--max-upload-mb", std::to_string(limit_mb)});
  const std::string pid = daemon->pid();
  const long rss_model_loaded = proc_status_kib(pid, "VmRSS");
  const long hwm_model_loaded = proc_status_kib(pid, "VmHWM");

  // One separation of the mix first, so that the baseline holds what a
  // separation itself needs (LibTorch's buffers), not only the loaded model.
  const std::string warm_up = job_id_of(upload_file(daemon->url(), mix_path, "mix.wav"));
  wait_until([&] { return http_get(daemon->url("status/" + warm_up)).json_string("status") == "completed"; }, 300);
  const long rss_before = proc_status_kib(pid, "VmRSS");
  const long anon_before = proc_status_kib(pid, "RssAnon");
  const long hwm_before = proc_status_kib(pid, "VmHWM");
  // The warm-up separation set the lifetime peak; reset VmHWM to the current
  // RSS (Linux >= 4.0: "5" to clear_refs) so that the peak after the upload
  // is the upload's own.
  bool hwm_reset = false;
  {
    std::ofstream clear_refs("/proc/" + pid + "/clear_refs");
    clear_refs << "5";
    clear_refs.flush();
    hwm_reset = clear_refs.good();
  }
  const long hwm_reset_to = proc_status_kib(pid, "VmHWM");

  std::atomic<bool> sampling{true};
  std::atomic<long> max_rss{rss_before}, max_anon{anon_before};
  std::atomic<int> samples{0};
  std::thread sampler([&] {
    while (sampling) {
      const long rss = proc_status_kib(pid, "VmRSS");
      if (rss > max_rss) max_rss = rss;
      const long anon = proc_status_kib(pid, "RssAnon");
      if (anon > max_anon) max_anon = anon;
      ++samples;
      g_usleep(50 * 1000);
    }
  });
  const double start = now_seconds();
  const HttpResponse response = http_post(daemon->url("upload"), content_type, bytes);
  const double seconds = now_seconds() - start;
  sampling = false;
  sampler.join();
  const long hwm_after = proc_status_kib(pid, "VmHWM");
  const long rss_after = proc_status_kib(pid, "VmRSS");
  const long anon_after = proc_status_kib(pid, "RssAnon");
  const std::string id = job_id_of(response);
  // Its job (minutes of audio) is not part of the figure: cancel it.
  const unsigned deleted = http_delete(daemon->url("jobs/" + id)).status;
  daemon->stop();

  auto mib = [](long kib) { return round3(static_cast<double>(kib) / 1024); };
  JsonBuilder *builder = json_builder_new();
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "file_mb");
  json_builder_add_double_value(builder, round3(file_mb));
  json_builder_set_member_name(builder, "audio_seconds");
  json_builder_add_double_value(builder, round3(audio_seconds));
  json_builder_set_member_name(builder, "daemon_options");
  json_builder_add_string_value(builder, ("--max-jobs 1 --max-upload-mb " + std::to_string(limit_mb)).c_str());
  json_builder_set_member_name(builder, "upload_seconds");
  json_builder_add_double_value(builder, round3(seconds));
  json_builder_set_member_name(builder, "upload_mb_per_second");
  json_builder_add_double_value(builder, round3(file_mb / seconds));
  json_builder_set_member_name(builder, "rss_mib_model_loaded");
  json_builder_add_double_value(builder, mib(rss_model_loaded));
  json_builder_set_member_name(builder, "peak_rss_mib_model_loaded");
  json_builder_add_double_value(builder, mib(hwm_model_loaded));
  json_builder_set_member_name(builder, "rss_mib_before");
  json_builder_add_double_value(builder, mib(rss_before));
  json_builder_set_member_name(builder, "peak_rss_mib_before");
  json_builder_add_double_value(builder, mib(hwm_before));
  json_builder_set_member_name(builder, "peak_rss_reset");
  json_builder_add_boolean_value(builder, hwm_reset);
  json_builder_set_member_name(builder, "peak_rss_mib_at_reset");
  json_builder_add_double_value(builder, mib(hwm_reset_to));
  json_builder_set_member_name(builder, "peak_rss_mib_after");
  json_builder_add_double_value(builder, mib(hwm_after));
  json_builder_set_member_name(builder, "peak_rss_increase_mib");
  json_builder_add_double_value(builder, mib(hwm_after - hwm_reset_to));
  json_builder_set_member_name(builder, "rss_mib_after");
  json_builder_add_double_value(builder, mib(rss_after));
  json_builder_set_member_name(builder, "max_sampled_rss_mib_during_upload");
  json_builder_add_double_value(builder, mib(max_rss));
  json_builder_set_member_name(builder, "max_sampled_rss_increase_mib");
  json_builder_add_double_value(builder, mib(max_rss - rss_before));
  json_builder_set_member_name(builder, "rss_anon_mib_before");
  json_builder_add_double_value(builder, mib(anon_before));
  json_builder_set_member_name(builder, "rss_anon_mib_after");
  json_builder_add_double_value(builder, mib(anon_after));
  json_builder_set_member_name(builder, "max_sampled_rss_anon_mib_during_upload");
  json_builder_add_double_value(builder, mib(max_anon));
  json_builder_set_member_name(builder, "rss_samples");
  json_builder_add_int_value(builder, samples);
  json_builder_set_member_name(builder, "job_cancelled_status");
  json_builder_add_int_value(builder, deleted);
  json_builder_end_object(builder);
  JsonNode *root = json_builder_get_root(builder);
  g_object_unref(builder);
  return root;
}

// JSON text with numbers as the figures were rounded (json-glib's own
// generator writes 17 significant digits: 1.0589999999999999).
void write_json(JsonNode *node, int depth, std::string &out) {
  const std::string indent(static_cast<std::size_t>(depth + 1) * 2, ' ');
  const std::string closing(static_cast<std::size_t>(depth) * 2, ' ');
  if (JSON_NODE_HOLDS_OBJECT(node)) {
    JsonObject *object = json_node_get_object(node);
    GList *members = json_object_get_members(object);  // in insertion order
    out += "{";
    for (GList *member = members; member; member = member->next) {
      const char *name = static_cast<const char *>(member->data);
      out += member == members ? "\n" : ",\n";
      gchar *quoted = g_strescape(name, nullptr);
      out += indent + "\"" + quoted + "\": ";
      g_free(quoted);
      write_json(json_object_get_member(object, name), depth + 1, out);
    }
    g_list_free(members);
    out += members ? "\n" + closing + "}" : "}";
  } else if (JSON_NODE_HOLDS_ARRAY(node)) {
    JsonArray *array = json_node_get_array(node);
    const guint length = json_array_get_length(array);
    out += "[";
    for (guint i = 0; i < length; ++i) {
      out += i == 0 ? "\n" : ",\n";
      out += indent;
      write_json(json_array_get_element(array, i), depth + 1, out);
    }
    out += length ? "\n" + closing + "]" : "]";
  } else if (JSON_NODE_HOLDS_NULL(node)) {
    out += "null";
  } else if (json_node_get_value_type(node) == G_TYPE_STRING) {
    gchar *quoted = g_strescape(json_node_get_string(node), nullptr);
    out += std::string("\"") + quoted + "\"";
    g_free(quoted);
  } else if (json_node_get_value_type(node) == G_TYPE_DOUBLE) {
    char number[64];
    std::snprintf(number, sizeof number, "%.10g", json_node_get_double(node));
    out += number;
  } else if (json_node_get_value_type(node) == G_TYPE_BOOLEAN) {
    out += json_node_get_boolean(node) ? "true" : "false";
  } else {
    out += std::to_string(json_node_get_int(node));
  }
}

}  // namespace

int main(int argc, char **argv) {
  const Options options = parse_options(argc, argv);

  // The defaults of tests/daemon/meson.build's test environment.
  set_default_env("DEMUCS_TEST_DATA", DEMUCS_SOURCE_ROOT "/tests/data");
  set_default_env("GST_PLUGIN_PATH", DEMUCS_BUILD_ROOT "/gst-plugin/loader");
  set_default_env("GST_REGISTRY", DEMUCS_BUILD_ROOT "/tests/daemon/registry-benchmark.bin");
  set_default_env("OMP_WAIT_POLICY", "PASSIVE");

  try {
    TempDir temp;
    // Never the user's model cache.
    set_default_env("DEMUCS_VOCALS_CACHE", temp.file("model-cache"));
    const std::string mix_path = std::string(g_getenv("DEMUCS_TEST_DATA")) + "/mix.wav";
    const PcmWav mix = read_pcm_wav(mix_path);
    const double mix_seconds = static_cast<double>(mix.data.size()) / mix.byte_rate;

    JsonBuilder *builder = json_builder_new();
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "nproc");
    json_builder_add_int_value(builder, static_cast<gint64>(std::thread::hardware_concurrency()));
    json_builder_set_member_name(builder, "load_average_start");
    json_builder_add_string_value(builder, load_average().c_str());
    json_builder_set_member_name(builder, "model");
    json_builder_add_string_value(builder, "tests/data/htdemucs-tiny-4s.th (cpu)");
    json_builder_set_member_name(builder, "options");
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "uploads");
    json_builder_add_int_value(builder, options.uploads);
    json_builder_set_member_name(builder, "jobs");
    json_builder_add_int_value(builder, options.jobs);
    json_builder_set_member_name(builder, "max_jobs");
    json_builder_begin_array(builder);
    for (int value : options.max_jobs) json_builder_add_int_value(builder, value);
    json_builder_end_array(builder);
    json_builder_set_member_name(builder, "upload_mb");
    json_builder_add_int_value(builder, options.upload_mb);
    json_builder_set_member_name(builder, "threads");
    json_builder_add_int_value(builder, options.upload_threads);
    json_builder_set_member_name(builder, "only");
    json_builder_add_string_value(builder, options.only.empty() ? "all" : options.only.c_str());
    json_builder_end_object(builder);

    if (options.only.empty() || options.only == "uploads") {
      json_builder_set_member_name(builder, "uploads");
      json_builder_add_value(builder, uploads_case(temp, options, mix_path));
    }
    if (options.only.empty() || options.only == "jobs") {
      json_builder_set_member_name(builder, "jobs");
      json_builder_begin_array(builder);
      for (int max_jobs : options.max_jobs) {
        json_builder_add_value(builder, jobs_case(temp, options, mix_path, mix_seconds, max_jobs));
      }
      json_builder_end_array(builder);
    }
    if (options.only.empty() || options.only == "requests") {
      json_builder_set_member_name(builder, "requests");
      json_builder_add_value(builder, requests_case(temp, options, mix_path));
    }
    if (options.only.empty() || options.only == "slow") {
      json_builder_set_member_name(builder, "slow");
      json_builder_add_value(builder, slow_case(temp, options));
    }
    if (options.only.empty() || options.only == "worker") {
      json_builder_set_member_name(builder, "worker");
      json_builder_add_value(builder, worker_case(temp, options, mix_path));
    }
    if (options.only.empty() || options.only == "nodes") {
      json_builder_set_member_name(builder, "nodes");
      json_builder_add_value(builder, nodes_case(temp, options, mix_path, mix_seconds));
    }
    if (options.only.empty() || options.only == "memory") {
      json_builder_set_member_name(builder, "memory");
      json_builder_add_value(builder, memory_case(temp, options, mix_path, mix));
    }
    json_builder_set_member_name(builder, "load_average_end");
    json_builder_add_string_value(builder, load_average().c_str());
    json_builder_end_object(builder);

    JsonNode *root = json_builder_get_root(builder);
    std::string text;
    write_json(root, 0, text);
    std::printf("%s\n", text.c_str());
    json_node_unref(root);
    g_object_unref(builder);
  } catch (const std::exception &error) {
    std::fprintf(stderr, "daemon-benchmark: %s\n", error.what());
    return 1;
  }
  return 0;
}
