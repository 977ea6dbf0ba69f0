// The real demucs-vocalsd, started for a test on a free loopback port with
// the tiny test model, and stopped (SIGTERM) at the end.
#pragma once

#include <gio/gio.h>

#include <functional>
#include <string>
#include <vector>

namespace demucs::testing {

/// How the process is started, beyond its options.
struct DaemonLaunch {
  long descriptor_limit = 0;  ///< RLIMIT_NOFILE (soft and hard) in the child; 0: inherited
  std::vector<std::pair<std::string, std::string>> environment;  ///< set in the child
};

class DaemonProcess {
 public:
  /// Starts the program with --host 127.0.0.1 --port 0 --data-dir `data_dir`
  /// --model <tiny model> --device cpu --shutdown-grace 0 and `extra`
  /// options; waits for its "Listening on" line. The log goes to `data_dir`/../daemon-N.log.
  DaemonProcess(std::string data_dir, std::vector<std::string> extra = {}, DaemonLaunch launch = {});
  /// Stops it (SIGTERM) if still running.
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess &) = delete;
  DaemonProcess &operator=(const DaemonProcess &) = delete;

  /// "http://127.0.0.1:PORT/"
  const std::string &url() const { return url_; }
  /// url() + path (path without its leading '/').
  std::string url(const std::string &path) const;
  /// The port it listens on (0 if it did not start).
  int port() const;
  const std::string &data_dir() const { return data_dir_; }
  /// The process id ("" once it has exited).
  std::string pid() const;
  /// The program's peak resident memory so far (VmHWM), in KiB; -1 if unknown.
  long peak_rss_kib() const;
  /// Its resident memory now (VmRSS), in KiB; -1 if unknown. The model's
  /// load adds ~150 MiB in the first seconds: measure after it.
  long rss_kib() const;
  /// Everything the program wrote so far.
  std::string log() const;

  /// SIGKILL (a node that dies), and waits for the exit.
  void kill();
  /// SIGTERM, and waits for the exit; returns the exit status (-1 when killed
  /// by a signal or not stopping within `timeout_seconds`).
  int stop(int timeout_seconds = 30);
  /// Waits for the exit without a signal; the exit status as stop() gives it.
  int wait_for_exit(int timeout_seconds);

 private:
  long status_kib(const char *field) const;

  std::string data_dir_;
  std::string log_path_;
  std::string url_;
  GSubprocess *process_ = nullptr;
};

/// Whether this run of the daemon tests uses PostgreSQL
/// (DEMUCS_TEST_DATABASE=postgresql, as the *_postgresql tests set it): then
/// every daemon started without --database gets one, a database of the
/// test's PostgreSQL server (postgres_server.h) per data folder.
bool testing_with_postgresql();

/// The PostgreSQL URL of the database kept for `data_dir` (made on first use).
std::string database_for(const std::string &data_dir);

/// How a run of the program that ends by itself went: for the settings it
/// refuses at start (exit status -1 when it did not exit normally).
struct ProgramExit {
  int exit_status = -1;
  std::string error_output;
};

/// Runs demucs-vocalsd with `arguments` (after the program's name) to its
/// end, standard output dropped.
ProgramExit run_daemon_to_exit(const std::vector<std::string> &arguments);

/// Polls `condition` every 50 ms for up to `timeout_seconds`; true once it holds.
bool wait_until(const std::function<bool()> &condition, double timeout_seconds);

}  // namespace demucs::testing
