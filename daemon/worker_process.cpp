#include "worker_process.h"

#include "worker/worker_protocol.h"
#include "worker_child_setup.h"
#include "worker_environment.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <memory>

namespace demucs {

namespace {

std::string megabytes(std::int64_t bytes) { return std::to_string(bytes / (1024 * 1024)) + " MB"; }

// The longest report line a worker may send (progress lines are ~60 bytes,
// an error message a few hundred).
constexpr std::size_t kMaxLineBytes = 64 * 1024;

// What a worker has no use for, and a compromised decoder should not read
// (worker_environment.h).
void set_environment(GSubprocessLauncher *launcher) {
  g_auto(GStrv) inherited = g_get_environ();
  std::vector<std::string> entries;
  for (gchar **entry = inherited; *entry != nullptr; ++entry) entries.emplace_back(*entry);
  const std::vector<std::string> kept = worker_environment(entries);
  std::vector<const gchar *> pointers;
  for (const std::string &entry : kept) pointers.push_back(entry.c_str());
  pointers.push_back(nullptr);
  g_subprocess_launcher_set_environ(launcher, const_cast<gchar **>(pointers.data()));
}

// A limit timer that never fires before `seconds` have passed: the stop
// message states the limit. g_timeout_add_seconds may fire up to a quarter
// of a second early (it rounds to whole seconds to group wake-ups), so the
// timer counts milliseconds, save past 49 days where that cannot be counted
// and a quarter second does not matter.
guint add_limit_timer(int seconds, GSourceFunc callback, gpointer data) {
  const guint64 milliseconds = static_cast<guint64>(seconds) * 1000;
  if (milliseconds <= G_MAXUINT) return g_timeout_add(static_cast<guint>(milliseconds), callback, data);
  return g_timeout_add_seconds(static_cast<guint>(seconds), callback, data);
}

}  // namespace

std::string current_program_path() {
  gchar *path = g_file_read_link("/proc/self/exe", nullptr);
  std::string result = path ? path : "";
  g_free(path);
  return result;
}

WorkerProcess::WorkerProcess(std::vector<std::string> arguments, WorkerLimits limits)
    : arguments_(std::move(arguments)), limits_(limits), cancellable_(g_cancellable_new()) {}

WorkerProcess::~WorkerProcess() {
  *alive_ = false;
  kill();
  g_clear_object(&process_);
  g_object_unref(cancellable_);
}

std::string WorkerProcess::pid() const {
  const gchar *id = process_ ? g_subprocess_get_identifier(process_) : nullptr;
  return id ? id : "";
}

bool WorkerProcess::start(EventCallback on_event, ExitCallback on_exit, std::string &error) {
  on_event_ = std::move(on_event);
  on_exit_ = std::move(on_exit);
  std::vector<const char *> argv;
  for (const std::string &argument : arguments_) argv.push_back(argument.c_str());
  argv.push_back(nullptr);

  GSubprocessLauncher *launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  set_environment(launcher);
  g_subprocess_launcher_set_child_setup(
      launcher, [](gpointer data) { set_up_worker_child(*static_cast<const WorkerChildSetup *>(data)); },
      new WorkerChildSetup{limits_, getpid()}, [](gpointer data) { delete static_cast<WorkerChildSetup *>(data); });
  GError *spawn_error = nullptr;
  process_ = g_subprocess_launcher_spawnv(launcher, argv.data(), &spawn_error);
  g_object_unref(launcher);
  if (process_ == nullptr) {
    error = std::string("cannot start a worker process: ") + spawn_error->message;
    g_error_free(spawn_error);
    return false;
  }
  output_ = g_subprocess_get_stdout_pipe(process_);
  // Until its first report a worker is starting (loading GStreamer, the
  // plugin and LibTorch), which on a busy machine with several workers
  // starting at once takes seconds: that is not a stall, but it is bounded.
  if (limits_.stall_seconds > 0)
    stall_timer_ = add_limit_timer(start_seconds(), on_stall, this);
  if (limits_.wall_seconds > 0)
    wall_timer_ = add_limit_timer(limits_.wall_seconds, on_wall_time, this);
  read_more();
  return true;
}

void WorkerProcess::read_more() {
  g_input_stream_read_async(output_, read_buffer_, sizeof read_buffer_, G_PRIORITY_DEFAULT, cancellable_, on_read,
                            this);
}

void WorkerProcess::on_read(GObject *stream, GAsyncResult *result, gpointer data) {
  GError *error = nullptr;
  const gssize got = g_input_stream_read_finish(G_INPUT_STREAM(stream), result, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {  // killed, or destroyed: `data` may be gone
    g_error_free(error);
    return;
  }
  auto *self = static_cast<WorkerProcess *>(data);
  g_clear_error(&error);
  if (got <= 0) {  // end of output: the worker has ended (or closed its output)
    g_subprocess_wait_async(self->process_, self->cancellable_, on_exited, self);
    return;
  }
  self->pending_.append(self->read_buffer_, static_cast<std::size_t>(got));
  for (std::size_t newline; (newline = self->pending_.find('\n')) != std::string::npos;) {
    const std::string line = self->pending_.substr(0, newline);
    self->pending_.erase(0, newline + 1);
    if (!self->handle_line(line)) return;  // an event callback destroyed `self`
  }
  // A worker (a decoder gone wrong, say) must not make the daemon hold an
  // endless line: past the cap it is stopped, and what it sends is dropped.
  if (self->pending_.size() > kMaxLineBytes) {
    self->pending_.clear();
    self->kill_for("failed", "the separation process sent a report that could not be read, and was stopped");
  }
  self->read_more();
}

bool WorkerProcess::handle_line(const std::string &line) {
  reported_ = true;
  if (stall_timer_) {
    g_source_remove(stall_timer_);
    stall_timer_ = add_limit_timer(limits_.stall_seconds, on_stall, this);
  }
  JsonObject *event = parse_worker_event(line);
  if (event == nullptr) return true;
  const std::string kind = json_object_get_string_member_with_default(event, "event", "");
  if (kind == "done") saw_done_ = true;
  if (kind == "error") {
    reported_kind_ = json_object_get_string_member_with_default(event, "kind", "failed");
    reported_message_ = json_object_get_string_member_with_default(event, "message", "");
  }
  const std::shared_ptr<bool> alive = alive_;
  if (on_event_) on_event_(event);
  json_object_unref(event);
  return *alive;
}

void WorkerProcess::on_exited(GObject *, GAsyncResult *result, gpointer data) {
  GError *error = nullptr;
  auto *process = G_SUBPROCESS(g_async_result_get_source_object(result));
  g_subprocess_wait_finish(process, result, &error);
  g_object_unref(process);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_error_free(error);
    return;
  }
  g_clear_error(&error);
  auto *self = static_cast<WorkerProcess *>(data);
  self->stop_timers();
  const WorkerOutcome outcome = self->outcome();
  ExitCallback on_exit = std::move(self->on_exit_);
  self->on_exit_ = nullptr;
  self->on_event_ = nullptr;
  if (on_exit) on_exit(outcome);  // last: it may destroy `self`
}

WorkerOutcome WorkerProcess::outcome() const {
  WorkerOutcome outcome;
  if (!killed_kind_.empty()) {
    outcome.kind = killed_kind_;
    outcome.message = killed_message_;
    return outcome;
  }
  if (g_subprocess_get_if_signaled(process_)) {
    const int signal = g_subprocess_get_term_sig(process_);
    if (signal == SIGXCPU) {
      outcome.kind = "cpu_limit";
      outcome.message = "the separation used up its CPU time limit (" + std::to_string(limits_.cpu_seconds) + " s)";
    } else if (signal == SIGXFSZ) {
      outcome.kind = "file_size_limit";
      outcome.message = "the result grew past its size limit (" + megabytes(limits_.file_bytes) + ")";
    } else if (signal == SIGKILL) {
      outcome.kind = "killed";
      outcome.message = "the separation process was killed (by the system: out of memory?)";
    } else {
      outcome.kind = "crashed";
      outcome.message = std::string("the process decoding and separating this file crashed (") + strsignal(signal) +
                        "); the file may be damaged";
    }
    return outcome;
  }
  const int status = g_subprocess_get_exit_status(process_);
  if (status == 0 && saw_done_) {
    outcome.ok = true;
    return outcome;
  }
  outcome.kind = reported_kind_.empty() ? "failed" : reported_kind_;
  outcome.message = !reported_message_.empty()
                        ? reported_message_
                        : "the separation process ended without a result (exit status " + std::to_string(status) + ")";
  return outcome;
}

gboolean WorkerProcess::on_stall(gpointer data) {
  auto *self = static_cast<WorkerProcess *>(data);
  self->stall_timer_ = 0;
  if (!self->reported_)
    self->kill_for("stalled", "the separation process did not start within " + std::to_string(self->start_seconds()) +
                                  " s and was stopped");
  else
    self->kill_for("stalled", "the separation made no progress for " + std::to_string(self->limits_.stall_seconds) +
                                  " s and was stopped");
  return G_SOURCE_REMOVE;
}

gboolean WorkerProcess::on_wall_time(gpointer data) {
  auto *self = static_cast<WorkerProcess *>(data);
  self->wall_timer_ = 0;
  self->kill_for("timed_out", "the separation took longer than the time limit of " +
                                  std::to_string(self->limits_.wall_seconds) + " s and was stopped");
  return G_SOURCE_REMOVE;
}

// Kills the worker but goes on reading: the exit callback tells `kind`.
void WorkerProcess::kill_for(const char *kind, std::string message) {
  if (!killed_kind_.empty()) return;
  killed_kind_ = kind;
  killed_message_ = std::move(message);
  kill_group();
}

void WorkerProcess::stop_timers() {
  if (stall_timer_) g_source_remove(stall_timer_);
  if (wall_timer_) g_source_remove(wall_timer_);
  stall_timer_ = wall_timer_ = 0;
}

void WorkerProcess::kill() {
  stop_timers();
  on_event_ = nullptr;
  on_exit_ = nullptr;
  g_cancellable_cancel(cancellable_);
  kill_group();  // GLib's child watch reaps it
}

// SIGKILL to the worker's process group, and to the worker itself in case
// it could not make a group of its own (a seccomp filter may refuse setpgid).
void WorkerProcess::kill_group() {
  const std::string id = pid();  // "" once GLib has reaped it: nothing to kill, no pid reused
  if (id.empty()) return;
  const pid_t worker = static_cast<pid_t>(std::stoi(id));
  ::kill(-worker, SIGKILL);
  ::kill(worker, SIGKILL);
}

}  // namespace demucs
