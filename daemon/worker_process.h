// The daemon's side of a worker process (worker/worker_main.h): starts
// `demucs-vocalsd worker ...` as a child with resource limits
// (worker_child_setup.h) and without the daemon's secrets in its
// environment (worker_environment.h; the worker then confines itself,
// worker/worker_sandbox.h), reads its events line by line on the main
// loop, and turns however it ends into one
// outcome with words for a user: done, an error it reported, a crash, a
// limit it hit, no progress for too long, or too long in all. A worker that
// is told to stop is killed at once and reaped by GLib: nothing here waits.
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace demucs {

struct WorkerLimits {
  std::int64_t memory_bytes = 0;  ///< address space (RLIMIT_AS); 0: none
  std::int64_t cpu_seconds = 0;   ///< RLIMIT_CPU; 0: none
  std::int64_t file_bytes = 0;    ///< largest file it may write (RLIMIT_FSIZE); 0: none
  int stall_seconds = 0;          ///< killed after this long without an event (30 s at least for the first); 0: never
  int wall_seconds = 0;           ///< killed after this long in all; 0: never
};

struct WorkerOutcome {
  bool ok = false;
  /// disk_full, too_long, out_of_memory, failed (the worker's own report);
  /// crashed, cpu_limit, file_size_limit, stalled, timed_out, killed.
  std::string kind;
  std::string message;  ///< for a user; empty when ok
};

class WorkerProcess {
 public:
  /// Each event the worker reports (not owned; valid during the call).
  using EventCallback = std::function<void(JsonObject *event)>;
  /// Once, at the end. The WorkerProcess may be destroyed from inside it.
  using ExitCallback = std::function<void(const WorkerOutcome &outcome)>;

  /// `arguments`: the program and its arguments.
  WorkerProcess(std::vector<std::string> arguments, WorkerLimits limits);
  /// Kills the worker if it still runs (no callback then).
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess &) = delete;
  WorkerProcess &operator=(const WorkerProcess &) = delete;

  /// Starts it; false with `error` if it cannot be started.
  bool start(EventCallback on_event, ExitCallback on_exit, std::string &error);
  /// SIGKILL to the worker and its process group; no callback afterwards.
  void kill();
  /// The worker's process id ("" before start or once reaped).
  std::string pid() const;

 private:
  static void on_read(GObject *stream, GAsyncResult *result, gpointer self);
  static void on_exited(GObject *process, GAsyncResult *result, gpointer self);
  static gboolean on_stall(gpointer self);
  static gboolean on_wall_time(gpointer self);
  void read_more();
  /// One report line; false if handling it destroyed this object.
  bool handle_line(const std::string &line);
  void stop_timers();
  void kill_group();
  void kill_for(const char *kind, std::string message);
  WorkerOutcome outcome() const;

  /// The least time a worker has for its first report (it is starting).
  static constexpr int kStartSeconds = 30;
  int start_seconds() const { return std::max(limits_.stall_seconds, kStartSeconds); }

  std::vector<std::string> arguments_;
  WorkerLimits limits_;
  GSubprocess *process_ = nullptr;
  GInputStream *output_ = nullptr;  // the worker's standard output (owned by process_)
  char read_buffer_[4096];
  std::string pending_;             // what came after the last whole line
  GCancellable *cancellable_ = nullptr;
  guint stall_timer_ = 0;
  guint wall_timer_ = 0;
  EventCallback on_event_;
  ExitCallback on_exit_;
  bool saw_done_ = false;
  bool reported_ = false;         // a first line came: it has started
  std::string reported_kind_;     // from an "error" event
  std::string reported_message_;
  std::string killed_kind_;       // why we killed it
  std::string killed_message_;
  // False once destroyed: an event callback may destroy this object.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

/// The path of the running program (/proc/self/exe), to start workers.
std::string current_program_path();

}  // namespace demucs
