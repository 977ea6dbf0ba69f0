#include "job_scheduler.h"

#include "daemon_log.h"

#include "access_log.h"
#include "callback_guard.h"
#include "folder_removal.h"
#include "job_file_limit.h"
#include "separation_pipeline.h"
#include "worker/worker_fault.h"
#include "worker/worker_protocol.h"

#include <dirent.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

namespace demucs {

namespace {

// Deletes the *.partial files (outputs cut short by a stop) in a job folder.
void remove_partial_outputs(const std::string &folder) {
  GDir *dir = g_dir_open(folder.c_str(), 0, nullptr);
  if (dir == nullptr) return;
  while (const gchar *name = g_dir_read_name(dir))
    if (g_str_has_suffix(name, ".partial")) g_remove((folder + "/" + name).c_str());
  g_dir_close(dir);
}

constexpr const char *kAttemptPrefix = "attempt-";

std::string parent_folder(const std::string &path) {
  g_autofree gchar *folder = g_path_get_dirname(path.c_str());
  return folder;
}

// Removes the attempt folder that holds `output_path` (and nothing when the
// output is not in one: a job from before attempt folders).
void remove_attempt_folder(const std::string &output_path) {
  const std::string folder = parent_folder(output_path);
  g_autofree gchar *name = g_path_get_basename(folder.c_str());
  if (g_str_has_prefix(name, kAttemptPrefix)) remove_tree(folder);
}

// The newest change to `folder` or a file in it (Unix seconds; 0: none).
std::int64_t last_change_in(const std::string &folder) {
  GStatBuf info;
  std::int64_t newest = g_stat(folder.c_str(), &info) == 0 ? static_cast<std::int64_t>(info.st_mtime) : 0;
  if (GDir *dir = g_dir_open(folder.c_str(), 0, nullptr)) {
    while (const gchar *name = g_dir_read_name(dir))
      if (g_stat((folder + "/" + name).c_str(), &info) == 0)
        newest = std::max(newest, static_cast<std::int64_t>(info.st_mtime));
    g_dir_close(dir);
  }
  return newest;
}

// Whether `path` was last changed before `unix_seconds`.
bool changed_before(const std::string &path, std::int64_t unix_seconds) {
  GStatBuf info;
  if (g_stat(path.c_str(), &info) != 0) return false;
  return static_cast<std::int64_t>(info.st_mtime) < unix_seconds;
}

// With a shared store, a folder no job owns may be an upload that another
// node is receiving: only one this old is a leftover.
constexpr std::int64_t kSharedOrphanAgeSeconds = 6 * 3600;

}  // namespace

JobScheduler::JobScheduler(JobStore &store, DiskSpace &disk, SchedulerSettings settings)
    : store_(store), disk_(disk), settings_(std::move(settings)), started_at_(g_get_real_time() / G_USEC_PER_SEC) {
  g_mkdir_with_parents((settings_.data_dir + "/jobs").c_str(), 0700);
  store_.on_change([this](const JobChange &change) {
    guarded("a change from another node", [&] { on_store_change(change); });
  });
  store_.on_connection([this](bool connected) {
    if (connected) schedule_start();
  });
  if (store_.shared() && settings_.runs_jobs) watchdog_ = std::make_unique<LeaseWatchdog>(settings_.lease_seconds);
  const guint heartbeat_ms = static_cast<guint>(std::max(200, settings_.lease_seconds * 1000 / 6));
  heartbeat_source_ = g_timeout_add(heartbeat_ms, on_heartbeat, this);
}

JobScheduler::~JobScheduler() {
  if (start_source_) g_source_remove(start_source_);
  if (heartbeat_source_) g_source_remove(heartbeat_source_);
  if (retired_source_) g_source_remove(retired_source_);
  for (auto &entry : running_) {
    entry.second.worker->kill();
    // This node's own attempt, half-written: of no use to the next one.
    remove_attempt_folder(entry.second.job.output_path);
    try {
      store_.release(entry.first, settings_.node);
      daemon_log("job %s: stopped by shutdown; queued again, it runs again from the start", entry.first.c_str());
    } catch (const JobStoreError &error) {
      daemon_log("job %s: stopped by shutdown; it runs again once its lease has ended (%s)", entry.first.c_str(),
                 error.what());
    }
  }
  running_.clear();
  for (auto &entry : unsaved_) save_final_state(entry.second.job);
  if (store_.shared()) {
    try {
      store_.announce_node(settings_.node, false, 0);
    } catch (const JobStoreError &) {
    }
  }
}

// The store may fail (a full disk, a lost database): the job goes on in
// memory, and the log says so.
bool JobScheduler::store_state(const Job &job) {
  try {
    return store_.update_state(job, settings_.node);
  } catch (const JobStoreError &error) {
    daemon_log("job %s: its state could not be stored: %s", job.id.c_str(), error.what());
    return true;
  }
}

// The end of a job: written now, or kept and written again at each
// heartbeat while the store cannot take it (its lease renewed meanwhile,
// so that no other node runs it again).
bool JobScheduler::save_final_state(const Job &job) {
  try {
    if (!store_.update_state(job, settings_.node))
      daemon_log("job %s: finished here, but this node no longer held it; its end is not recorded", job.id.c_str());
    return true;
  } catch (const JobStoreError &error) {
    if (unsaved_.count(job.id) == 0)
      daemon_log("job %s: its end could not be stored yet (%s); trying again", job.id.c_str(), error.what());
    unsaved_[job.id] = Unsaved{job, unsaved_.count(job.id) ? unsaved_[job.id].lease_renewed : g_get_monotonic_time()};
    return false;
  }
}

std::string JobScheduler::job_folder(const std::string &id) const { return settings_.data_dir + "/jobs/" + id; }

bool JobScheduler::recover() {
  std::set<std::string> known;
  try {
    // One daemon alone on its store: whatever is processing was cut short.
    // Shared: only jobs whose lease has ended (their node died).
    const int requeued = store_.requeue_expired(!store_.shared());
    if (requeued > 0) daemon_log("%d interrupted job(s) queued again", requeued);
    recovered_ = true;
    for (const std::string &id : store_.ids()) known.insert(id);
  } catch (const JobStoreError &error) {
    // A full disk or a database not reachable yet: serve anyway; the jobs
    // wait (they show as pending) until the store can be written again.
    daemon_log("interrupted jobs cannot be queued again yet (trying again later): %s", error.what());
    if (!recovered_) return false;
    schedule_start();
    return true;  // queued again; folders are checked at the next start
  }
  schedule_start();

  const std::string jobs_dir = settings_.data_dir + "/jobs";
  if (GDir *dir = g_dir_open(jobs_dir.c_str(), 0, nullptr)) {
    while (const gchar *name = g_dir_read_name(dir)) {
      const std::string folder = jobs_dir + "/" + name;
      if (known.count(name) == 0) {
        // Recovery may be a retry, with uploads arriving meanwhile: their
        // folders have no job yet. Alone on the store, only a folder from
        // before this daemon started is a leftover.
        const std::int64_t made_before =
            store_.shared() ? g_get_real_time() / G_USEC_PER_SEC - kSharedOrphanAgeSeconds : started_at_;
        if (!changed_before(folder, made_before)) continue;
        daemon_log("removing %s: no job owns it (an upload cut short)", escape_for_log(folder).c_str());
        remove_tree_in_background(folder);
      } else if (!store_.shared()) {
        // Alone on the store, nothing runs yet: what earlier attempts left
        // half-written goes (shared: the node that ran an attempt, or the
        // one that completes the job, does it).
        remove_partial_outputs(folder);
        const std::optional<Job> job = store_.find(name);
        const bool completed = job && job->status == JobStatus::completed;
        remove_stale_attempts(folder, completed ? parent_folder(job->output_path) : "", 0);
      }
    }
    g_dir_close(dir);
  }
  return true;
}

// A job left "processing" by a daemon that stopped, while the store could
// not yet put it back in the queue, is waiting: say so.
void JobScheduler::show_interrupted_as_waiting(Job &job) const {
  if (!recovered_ && !store_.shared() && job.status == JobStatus::processing && running_.count(job.id) == 0) {
    job.status = JobStatus::pending;
    job.progress = 0;
  }
}

void JobScheduler::set_model_state(bool ready, const std::string &unavailable_reason) {
  model_ready_ = ready;
  model_unavailable_ = unavailable_reason;
  reported_no_model_ = false;
  announce();
  schedule_start();
}

void JobScheduler::submit(Job &job) {
  if (!model_unavailable_.empty() && request_model_) {
    model_unavailable_.clear();
    model_ready_ = false;
    request_model_();
  }
  store_.insert(job);
  daemon_log("job %s: pending (%s, stem %s, %s)", job.id.c_str(), job.filename.c_str(), job.stem.c_str(),
             job.format.c_str());
  notify(job, false);
  schedule_start();
}

std::optional<Job> JobScheduler::find(const std::string &id) const {
  auto running = running_.find(id);
  if (running != running_.end()) return running->second.job;
  auto unsaved = unsaved_.find(id);
  if (unsaved != unsaved_.end()) return unsaved->second.job;
  std::optional<Job> job = store_.find(id);
  if (job) show_interrupted_as_waiting(*job);
  return job;
}

std::vector<Job> JobScheduler::recent(int limit) const {
  std::vector<Job> jobs = store_.recent(limit);
  for (Job &job : jobs) {
    auto running = running_.find(job.id);
    if (running != running_.end()) job = running->second.job;
    auto unsaved = unsaved_.find(job.id);
    if (unsaved != unsaved_.end()) job = unsaved->second.job;
    show_interrupted_as_waiting(job);
  }
  return jobs;
}

std::optional<int> JobScheduler::queue_position(const std::string &id) const { return store_.queue_position(id); }

int JobScheduler::pending_count() const { return store_.pending_count(); }

bool JobScheduler::remove(const std::string &id) {
  // The store first: if it cannot be written, nothing changes (the job
  // would run again elsewhere otherwise).
  const std::optional<Job> removed = store_.remove(id);
  auto running = running_.find(id);
  if (running != running_.end()) {
    end_attempt(id);
    retire(std::move(running->second.worker));  // SIGKILL; GLib reaps it
    running_.erase(running);
    daemon_log("job %s: cancelled while processing", id.c_str());
  }
  unsaved_.erase(id);
  if (!removed) return false;
  delete_files(id);
  daemon_log("job %s: deleted", id.c_str());
  notify(*removed, true);
  schedule_start();
  return true;
}

int JobScheduler::remove_expired(std::int64_t ttl_seconds) {
  const std::int64_t cutoff = g_get_real_time() - ttl_seconds * G_USEC_PER_SEC;
  // Each expired job comes back to one node only: no two nodes delete one.
  const std::vector<Job> expired = store_.remove_finished_before(cutoff);
  for (const Job &job : expired) {
    delete_files(job.id);
    daemon_log("job %s: expired and removed (finished more than %lld s ago)", job.id.c_str(),
               static_cast<long long>(ttl_seconds));
    notify(job, true);
  }
  return static_cast<int>(expired.size());
}

int JobScheduler::subscribe(const std::string &id, Listener listener) {
  const int token = next_token_++;
  listeners_.emplace(id, std::make_pair(token, std::move(listener)));
  return token;
}

void JobScheduler::unsubscribe(int token) {
  for (auto it = listeners_.begin(); it != listeners_.end(); ++it)
    if (it->second.first == token) {
      listeners_.erase(it);
      return;
    }
}

void JobScheduler::notify(const Job &job, bool deleted) {
  // A listener may unsubscribe itself (or others) while being told: call copies.
  std::vector<Listener> to_call;
  auto range = listeners_.equal_range(job.id);
  for (auto it = range.first; it != range.second; ++it) to_call.push_back(it->second.second);
  for (const Listener &listener : to_call) guarded("a job's listener", [&] { listener(job, deleted); });
}

// Another node changed a job: this node's listeners hear of it, and a job
// this node runs but no longer holds (deleted, or taken back) stops here.
void JobScheduler::on_store_change(const JobChange &change) {
  const bool runs_here = running_.count(change.id) > 0;
  if (change.deleted) {
    if (runs_here || unsaved_.count(change.id)) stop_lost(change.id, "the job was deleted");
    if (listeners_.count(change.id)) {
      Job gone;
      gone.id = change.id;
      notify(gone, true);
    }
    return;
  }
  if (runs_here && change.status != JobStatus::processing)
    stop_lost(change.id, "another node changed it (its lease had ended)");
  if (listeners_.count(change.id))
    if (std::optional<Job> job = store_.find(change.id)) notify(*job, false);
  if (change.status == JobStatus::pending) schedule_start();
}

// A job this node ran but no longer holds: its worker stops; if the job is
// gone, so are its files (the worker may have written after the node that
// deleted it removed them).
void JobScheduler::stop_lost(const std::string &id, const std::string &why) {
  auto running = running_.find(id);
  if (running != running_.end()) {
    end_attempt(id);
    retire(std::move(running->second.worker));
    // What this attempt wrote is of no use to anyone (the next attempt
    // writes in a folder of its own).
    remove_attempt_folder(running->second.job.output_path);
    running_.erase(running);
  }
  unsaved_.erase(id);
  daemon_log("job %s: stopped on this node: %s", id.c_str(), why.c_str());
  try {
    if (!store_.find(id)) delete_files(id);
  } catch (const JobStoreError &) {
  }
  schedule_start();
}

gboolean JobScheduler::on_heartbeat(gpointer data) {
  auto *self = static_cast<JobScheduler *>(data);
  guarded("the heartbeat", [&] { self->heartbeat(); });
  return G_SOURCE_CONTINUE;
}

// Every lease/6 seconds: renew the leases this node holds, write the ends
// the store did not take, put jobs whose node died back in the queue, and
// look for work (a missed notification costs a heartbeat, no more).
void JobScheduler::heartbeat() {
  const gint64 now = g_get_monotonic_time();
  announce();
  std::vector<std::string> held;
  for (const auto &entry : running_) held.push_back(entry.first);
  for (const auto &entry : unsaved_) held.push_back(entry.first);
  if (!held.empty()) {
    try {
      const std::vector<std::string> lost = store_.renew_leases(settings_.node, held, settings_.lease_seconds);
      for (auto &entry : running_) entry.second.lease_renewed = now;
      for (auto &entry : unsaved_) entry.second.lease_renewed = now;
      if (watchdog_) watchdog_->renewed(now);
      for (const std::string &id : lost) stop_lost(id, "its lease was lost (it ended, or the job was deleted)");
    } catch (const JobStoreError &error) {
      // Before the lease ends by the database's clock, this node stops what
      // it could not renew: the job is then free to run elsewhere, and two
      // nodes never run it at once.
      const gint64 limit = static_cast<gint64>(settings_.lease_seconds) * G_USEC_PER_SEC * 2 / 3;
      std::vector<std::string> expiring;
      for (const auto &entry : running_)
        if (now - entry.second.lease_renewed > limit) expiring.push_back(entry.first);
      for (const auto &entry : unsaved_)
        if (now - entry.second.lease_renewed > limit) expiring.push_back(entry.first);
      for (const std::string &id : expiring)
        stop_lost(id, "its lease could not be renewed for " +
                          std::to_string((now - (running_.count(id) ? running_[id].lease_renewed
                                                                     : unsaved_[id].lease_renewed)) /
                                         G_USEC_PER_SEC) +
                          " s (" + error.what() + "); it runs again once its lease has ended");
      return;
    }
  }
  std::vector<Job> ends;
  for (const auto &entry : unsaved_) ends.push_back(entry.second.job);
  for (const Job &job : ends) {
    if (!save_final_state(job)) return;
    unsaved_.erase(job.id);
  }
  if (store_.shared()) {
    try {
      const int requeued = store_.requeue_expired(false);
      if (requeued > 0) daemon_log("%d job(s) whose node stopped renewing its lease queued again", requeued);
    } catch (const JobStoreError &) {
      return;
    }
  }
  if (settings_.runs_jobs) schedule_start();
}

// This node is alive, and whether it could run a job now.
void JobScheduler::announce() {
  if (!store_.shared()) return;
  try {
    const bool able = settings_.runs_jobs && model_ready_ && model_unavailable_.empty() && !stopping_;
    store_.announce_node(settings_.node, able, settings_.lease_seconds);
  } catch (const JobStoreError &) {
    // The heartbeat's other calls say it.
  }
}

void JobScheduler::delete_files(const std::string &id) { remove_tree_in_background(job_folder(id)); }

// The job's worker has ended or is being stopped: the watchdog lets it go.
void JobScheduler::end_attempt(const std::string &id) {
  if (watchdog_) watchdog_->forget(id);
}

// Removes the attempt folders in a job's folder but `keep`, those where
// nothing changed for `idle_seconds`.
void JobScheduler::remove_stale_attempts(const std::string &folder, const std::string &keep,
                                         std::int64_t idle_seconds) {
  GDir *dir = g_dir_open(folder.c_str(), 0, nullptr);
  if (dir == nullptr) return;
  std::vector<std::string> stale;
  const std::int64_t now = g_get_real_time() / G_USEC_PER_SEC;
  while (const gchar *name = g_dir_read_name(dir)) {
    const std::string attempt = folder + "/" + name;
    if (g_str_has_prefix(name, kAttemptPrefix) && attempt != keep && last_change_in(attempt) <= now - idle_seconds)
      stale.push_back(attempt);
  }
  g_dir_close(dir);
  for (const std::string &attempt : stale) remove_tree(attempt);
}

// A job may be stopped from inside one of its worker's callbacks (a full
// disk or a lost lease noticed at a progress event): the worker is killed
// at once, and destroyed from the main loop once that callback has returned.
void JobScheduler::retire(std::unique_ptr<WorkerProcess> worker) {
  worker->kill();
  retired_workers_.push_back(std::move(worker));
  if (retired_source_ == 0) retired_source_ = g_idle_add(on_destroy_retired, this);
}

gboolean JobScheduler::on_destroy_retired(gpointer data) {
  auto *self = static_cast<JobScheduler *>(data);
  self->retired_source_ = 0;
  self->retired_workers_.clear();
  return G_SOURCE_REMOVE;
}

void JobScheduler::schedule_start() {
  // From the main loop, never from inside a pipeline's callback.
  if (start_source_ == 0) start_source_ = g_idle_add(on_start_waiting, this);
}

gboolean JobScheduler::on_start_waiting(gpointer data) {
  auto *self = static_cast<JobScheduler *>(data);
  self->start_source_ = 0;
  guarded("starting jobs", [&] { self->start_waiting_jobs(); });
  return G_SOURCE_REMOVE;
}

// The model cannot be had. Alone on its store, this node ends the waiting
// jobs with the reason (no one else will run them; a new upload makes it
// try the model again). On a shared queue it only stops claiming: one node
// with a broken model must not fail the jobs that other nodes, or this one
// once its model is back, can run; they wait, and /health says why.
void JobScheduler::fail_waiting_jobs() {
  if (store_.shared()) {
    if (!reported_no_model_)
      daemon_log("this node takes no jobs: the model is unavailable (%s); they wait for a node that can run them",
                 model_unavailable_.c_str());
    reported_no_model_ = true;
    return;
  }
  while (std::optional<Job> job = store_.claim_next(settings_.node, settings_.lease_seconds)) {
    set_state(*job, JobStatus::error, 0.0, model_unavailable_);
    store_state(*job);
    notify(*job, false);
  }
}

void JobScheduler::start_waiting_jobs() {
  if (!settings_.runs_jobs || stopping_ || !recovered_) return;
  if (!model_unavailable_.empty()) {
    fail_waiting_jobs();
    return;
  }
  if (!model_ready_) return;
  while (static_cast<int>(running_.size()) < settings_.max_jobs) {
    std::optional<Job> claimed;
    try {
      claimed = store_.claim_next(settings_.node, settings_.lease_seconds);
    } catch (const JobStoreError &error) {
      daemon_log("no job can be claimed now: %s", error.what());
      return;
    }
    if (!claimed) break;
    if (settings_.max_attempts > 0 && claimed->attempts > settings_.max_attempts) {
      give_up(std::move(*claimed));
      continue;
    }
    start(std::move(*claimed));
  }
}

std::vector<std::string> JobScheduler::worker_arguments(const Job &job) const {
  std::vector<std::string> arguments = {settings_.worker_program, "worker", "separate",
                                        "--input", job.input_path, "--output", job.output_path,
                                        "--format", job.format, "--model", settings_.model,
                                        "--device", settings_.device, "--stem", job.stem};
  if (!settings_.precision.empty()) {
    arguments.push_back("--precision");
    arguments.push_back(settings_.precision);
  }
  if (!settings_.config.empty()) {
    arguments.push_back("--config");
    arguments.push_back(settings_.config);
  }
  if (settings_.max_audio_seconds > 0) {
    arguments.push_back("--max-seconds");
    arguments.push_back(std::to_string(settings_.max_audio_seconds));
  }
  if (settings_.test_faults) {
    const std::string name = job.filename.substr(0, job.filename.find('.'));
    if (is_test_fault(name)) {
      arguments.push_back("--test-fault");
      arguments.push_back(name);
    }
  }
  return arguments;
}

// A job whose every run so far was cut short (its node died, was stopped
// past its grace, or lost the database) ends here: a file that takes its
// node down each time must not go round the queue forever.
void JobScheduler::give_up(Job job) {
  const int runs = job.attempts - 1;
  set_state(job, JobStatus::error, 0.0,
            "this job was started " + std::to_string(runs) + " time" + (runs == 1 ? "" : "s") +
                " and each run was interrupted before it ended (the server running it stopped or lost its "
                "database); it is not tried again (--max-attempts " + std::to_string(settings_.max_attempts) + ")");
  store_state(job);
  notify(job, false);
}

// `job` is claimed (processing, this node's lease).
void JobScheduler::start(Job job) {
  const std::string id = job.id;
  // Each attempt writes in a folder of its own: an earlier attempt whose
  // node lost the job (and may not know it yet) never shares a path with
  // this one, and nothing of it is removed while it may still be running.
  const std::string attempt_folder = job_folder(id) + "/" + kAttemptPrefix + std::to_string(job.attempts);
  g_mkdir_with_parents(attempt_folder.c_str(), 0700);
  g_autofree gchar *output_name = g_path_get_basename(job.output_path.c_str());
  job.output_path = attempt_folder + "/" + output_name;
  daemon_log("job %s: processing on node %s (attempt %d)", id.c_str(), settings_.node.c_str(), job.attempts);
  Running &running = running_[id];
  running.job = job;
  running.lease_renewed = g_get_monotonic_time();
  running.worker = std::make_unique<WorkerProcess>(
      worker_arguments(job), job_worker_limits(job, settings_.worker_limits, settings_.max_audio_seconds));
  notify(job, false);
  std::string error;
  // Handling an event may stop the job (a full disk, a lost lease), which
  // kills the worker and so destroys this very closure: the closures copy
  // what they captured before anything else, and touch nothing of theirs
  // afterwards.
  const bool started = running.worker->start(
      [this, id](JsonObject *event) {
        JobScheduler *self = this;
        const std::string job_id = id;
        guarded("a worker's event", [self, job_id, event] {
          if (g_strcmp0(json_object_get_string_member_with_default(event, "event", ""), "progress") == 0)
            self->on_progress(job_id, json_object_get_double_member_with_default(event, "percent", 0.0));
        });
      },
      [this, id](const WorkerOutcome &outcome) {
        JobScheduler *self = this;
        const std::string job_id = id;
        guarded("a worker's end", [self, job_id, &outcome] { self->on_done(job_id, outcome); });
      },
      error);
  if (!started) {
    on_done(id, WorkerOutcome{false, "failed", error});
    return;
  }
  if (watchdog_) watchdog_->watch(id, static_cast<pid_t>(std::stoi(running.worker->pid())));
}

void JobScheduler::on_progress(const std::string &id, double percent) {
  auto running = running_.find(id);
  if (running == running_.end()) return;
  Job &job = running->second.job;
  // The result being written must not fill the disk.
  if (!disk_.above_minimum()) {
    on_done(id, WorkerOutcome{false, "disk_full", disk_full_text(disk_.min_free_bytes())});
    return;
  }
  percent = std::clamp(percent, 0.0, 100.0);
  if (percent <= job.progress) return;
  // The store gets whole percents; listeners get every step.
  const bool store = std::floor(percent) > std::floor(job.progress);
  job.progress = percent;
  if (store && !store_state(job)) {
    stop_lost(id, "this node no longer holds it (its lease had ended)");
    return;
  }
  notify(job, false);
}

void JobScheduler::on_done(const std::string &id, const WorkerOutcome &outcome) {
  auto running = running_.find(id);
  if (running == running_.end()) return;
  if (watchdog_ && watchdog_->fenced(id)) {
    stop_lost(id, "its lease could not be renewed in time, so its worker was stopped; it runs again once its "
                  "lease has ended");
    return;
  }
  end_attempt(id);
  Job job = running->second.job;
  retire(std::move(running->second.worker));
  running_.erase(running);
  if (outcome.ok) {
    set_state(job, JobStatus::completed, 100.0, "");
    // Earlier attempts' leftovers, once nothing has written to them for a
    // whole lease (their nodes fenced themselves well before).
    remove_stale_attempts(job_folder(id), parent_folder(job.output_path), settings_.lease_seconds);
  } else {
    remove_attempt_folder(job.output_path);  // this attempt's, half-written
    const std::string message =
        outcome.kind == "disk_full" && outcome.message.find("disk full") == std::string::npos
            ? "disk full: the server ran out of space while writing the result (" + outcome.message + ")"
            : outcome.message;
    set_state(job, JobStatus::error, job.progress, message);
  }
  save_final_state(job);
  notify(job, false);
  schedule_start();
}

// The job's new state, in memory and in the log; the caller stores it.
void JobScheduler::set_state(Job &job, JobStatus status, double progress, const std::string &error_message) {
  job.status = status;
  job.progress = progress;
  job.error_message = error_message;
  const bool finished = status == JobStatus::completed || status == JobStatus::error;
  job.finished_at = finished ? g_get_real_time() : 0;
  if (status == JobStatus::error)
    daemon_log("job %s: error: %s", job.id.c_str(), error_message.c_str());
  else
    daemon_log("job %s: %s", job.id.c_str(), job_status_name(status));
}

}  // namespace demucs
