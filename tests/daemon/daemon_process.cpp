#include "daemon_process.h"

#include "postgres_server.h"
#include "support/test_data.h"

#include <glib.h>
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <csignal>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>

namespace demucs::testing {

namespace {
std::atomic<int> daemon_counter{0};
}

ProgramExit run_daemon_to_exit(const std::vector<std::string> &arguments) {
  std::vector<const char *> argv = {DEMUCS_VOCALSD_PROGRAM};
  for (const std::string &argument : arguments) argv.push_back(argument.c_str());
  argv.push_back(nullptr);
  ProgramExit result;
  gchar *error_output = nullptr;
  gint status = 0;
  if (!g_spawn_sync(nullptr, const_cast<gchar **>(argv.data()), nullptr, G_SPAWN_STDOUT_TO_DEV_NULL, nullptr,
                    nullptr, nullptr, &error_output, &status, nullptr)) {
    ADD_FAILURE() << "cannot start " << DEMUCS_VOCALSD_PROGRAM;
    return result;
  }
  if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
  result.error_output = error_output ? error_output : "";
  g_free(error_output);
  return result;
}

bool testing_with_postgresql() { return g_strcmp0(g_getenv("DEMUCS_TEST_DATABASE"), "postgresql") == 0; }

std::string database_for(const std::string &data_dir) {
  static std::mutex mutex;
  static std::map<std::string, std::string> databases;
  std::lock_guard<std::mutex> lock(mutex);
  auto known = databases.find(data_dir);
  if (known != databases.end()) return known->second;
  PostgresServer &server = PostgresServer::shared();
  if (!server.ok()) {
    ADD_FAILURE() << server.problem();
    return "";
  }
  const std::string url =
      server.create_database("daemon_" + std::to_string(getpid()) + "_" + std::to_string(databases.size() + 1));
  databases[data_dir] = url;
  return url;
}

bool wait_until(const std::function<bool()> &condition, double timeout_seconds) {
  const gint64 end = g_get_monotonic_time() + static_cast<gint64>(timeout_seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time() < end) {
    if (condition()) return true;
    g_usleep(50 * 1000);
  }
  return condition();
}

namespace {
void limit_descriptors(gpointer data) {
  const rlim_t limit = static_cast<rlim_t>(reinterpret_cast<std::intptr_t>(data));
  const rlimit both{limit, limit};
  setrlimit(RLIMIT_NOFILE, &both);
}
}  // namespace

DaemonProcess::DaemonProcess(std::string data_dir, std::vector<std::string> extra, DaemonLaunch launch)
    : data_dir_(std::move(data_dir)) {
  gchar *parent = g_path_get_dirname(data_dir_.c_str());
  log_path_ = std::string(parent) + "/daemon-" + std::to_string(++daemon_counter) + ".log";
  g_free(parent);

  // Stopped at once by default (no grace for running jobs); tests of the
  // grace give their own --shutdown-grace, which comes later and wins.
  std::vector<std::string> arguments = {DEMUCS_VOCALSD_PROGRAM, "--host",     "127.0.0.1", "--port",
                                        "0",                    "--data-dir", data_dir_,   "--device",
                                        "cpu",                  "--shutdown-grace", "0"};
  bool has_model = false;
  bool has_database = false;
  for (const std::string &option : extra) {
    has_model = has_model || option == "--model";
    has_database = has_database || option == "--database";
  }
  if (!has_database && testing_with_postgresql()) {
    arguments.push_back("--database");
    arguments.push_back(database_for(data_dir_));
  }
  if (!has_model) {
    arguments.push_back("--model");
    arguments.push_back(test_data("htdemucs-tiny-4s.th"));
  }
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  std::vector<const char *> argv;
  for (const std::string &argument : arguments) argv.push_back(argument.c_str());
  argv.push_back(nullptr);

  GSubprocessLauncher *launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_stdout_file_path(launcher, log_path_.c_str());
  for (const auto &variable : launch.environment)
    g_subprocess_launcher_setenv(launcher, variable.first.c_str(), variable.second.c_str(), TRUE);
  if (launch.descriptor_limit > 0)
    g_subprocess_launcher_set_child_setup(launcher, limit_descriptors,
                                          reinterpret_cast<gpointer>(static_cast<std::intptr_t>(launch.descriptor_limit)),
                                          nullptr);
  GError *error = nullptr;
  process_ = g_subprocess_launcher_spawnv(launcher, argv.data(), &error);
  g_object_unref(launcher);
  if (process_ == nullptr) {
    ADD_FAILURE() << "cannot start " << DEMUCS_VOCALSD_PROGRAM << ": " << error->message;
    g_error_free(error);
    return;
  }
  const std::regex listening("Listening on (https?://\\S+)");
  bool started = wait_until([&] {
    std::smatch match;
    const std::string text = log();
    if (std::regex_search(text, match, listening)) {
      url_ = match[1];
      return true;
    }
    return g_subprocess_get_identifier(process_) == nullptr;  // exited: give up at once
  }, 30);
  if (url_.empty()) started = false;
  if (!started) ADD_FAILURE() << "demucs-vocalsd did not start listening; its log:\n" << log();
}

DaemonProcess::~DaemonProcess() {
  if (process_) {
    stop();
    g_object_unref(process_);
  }
}

std::string DaemonProcess::url(const std::string &path) const { return url_ + path; }

int DaemonProcess::port() const {
  const std::size_t colon = url_.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(url_.c_str() + colon + 1);
}

std::string DaemonProcess::pid() const {
  const gchar *id = process_ ? g_subprocess_get_identifier(process_) : nullptr;
  return id ? id : "";
}

long DaemonProcess::status_kib(const char *field) const {
  const std::string id = pid();
  if (id.empty()) return -1;
  std::ifstream status("/proc/" + id + "/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(status, line))
    if (line.rfind(prefix, 0) == 0) return std::stol(line.substr(prefix.size()));
  return -1;
}

long DaemonProcess::peak_rss_kib() const { return status_kib("VmHWM"); }

long DaemonProcess::rss_kib() const { return status_kib("VmRSS"); }

std::string DaemonProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void DaemonProcess::kill() {
  if (process_ == nullptr) return;
  if (g_subprocess_get_identifier(process_) != nullptr) g_subprocess_force_exit(process_);
  g_subprocess_wait(process_, nullptr, nullptr);
}

int DaemonProcess::stop(int timeout_seconds) {
  if (process_ == nullptr) return -1;
  // The identifier goes away once GLib has reaped the child (on its own thread).
  if (g_subprocess_get_identifier(process_) != nullptr) g_subprocess_send_signal(process_, SIGTERM);
  return wait_for_exit(timeout_seconds);
}

int DaemonProcess::wait_for_exit(int timeout_seconds) {
  if (process_ == nullptr) return -1;
  if (!wait_until([&] { return g_subprocess_get_identifier(process_) == nullptr; }, timeout_seconds)) {
    ADD_FAILURE() << "demucs-vocalsd did not stop within " << timeout_seconds << " s";
    g_subprocess_force_exit(process_);
    g_subprocess_wait(process_, nullptr, nullptr);
    return -1;
  }
  g_subprocess_wait(process_, nullptr, nullptr);
  if (!g_subprocess_get_if_exited(process_)) return -1;
  return g_subprocess_get_exit_status(process_);
}

}  // namespace demucs::testing
