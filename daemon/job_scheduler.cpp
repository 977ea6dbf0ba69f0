#include "job_scheduler.h"

#include "daemon_log.h"

#include "callback_guard.h"
#include "separation_pipeline.h"
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

// Deletes a folder and everything in it, never following a symbolic link: a
// link (where a folder or file is expected) is removed, not what it points
// to. Job folders hold only plain files.
void remove_tree_at(int parent, const char *name) {
  const int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    unlinkat(parent, name, 0);  // a file, a link, or nothing
    return;
  }
  DIR *dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return;
  }
  while (const dirent *entry = readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    if (entry->d_type == DT_DIR)
      remove_tree_at(dirfd(dir), entry->d_name);
    else
      unlinkat(dirfd(dir), entry->d_name, 0);
  }
  closedir(dir);
  unlinkat(parent, name, AT_REMOVEDIR);
}

void remove_tree(const std::string &path) { remove_tree_at(AT_FDCWD, path.c_str()); }

// Deletes the *.partial files (outputs cut short by a stop) in a job folder.
void remove_partial_outputs(const std::string &folder) {
  GDir *dir = g_dir_open(folder.c_str(), 0, nullptr);
  if (dir == nullptr) return;
  while (const gchar *name = g_dir_read_name(dir))
    if (g_str_has_suffix(name, ".partial")) g_remove((folder + "/" + name).c_str());
  g_dir_close(dir);
}

}  // namespace

JobScheduler::JobScheduler(JobStore &store, DiskSpace &disk, SchedulerSettings settings)
    : store_(store), disk_(disk), settings_(std::move(settings)) {
  g_mkdir_with_parents((settings_.data_dir + "/jobs").c_str(), 0700);
}

JobScheduler::~JobScheduler() {
  if (start_source_) g_source_remove(start_source_);
  for (auto &entry : running_) {
    entry.second.worker->kill();
    Job &job = entry.second.job;
    job.status = JobStatus::pending;
    job.progress = 0;
    store_state(job);
    daemon_log("job %s: stopped by shutdown; queued again, it runs from the start at the next start",
               entry.first.c_str());
  }
  running_.clear();
}

// The store may fail (a full disk, a damaged file): the job goes on in
// memory, and the log says so.
void JobScheduler::store_state(const Job &job) {
  try {
    store_.update_state(job);
  } catch (const JobStoreError &error) {
    daemon_log("job %s: its state could not be stored: %s", job.id.c_str(), error.what());
  }
}

std::string JobScheduler::job_folder(const std::string &id) const { return settings_.data_dir + "/jobs/" + id; }

bool JobScheduler::recover() {
  try {
    const int requeued = store_.requeue_interrupted();
    if (requeued > 0) daemon_log("%d interrupted job(s) queued again", requeued);
    recovered_ = true;
  } catch (const JobStoreError &error) {
    // A full disk, most likely: serve anyway; the jobs wait (they show as
    // pending) until the store can be written again.
    daemon_log("interrupted jobs cannot be queued again yet (trying again later): %s", error.what());
    return false;
  }
  schedule_start();

  std::set<std::string> known;
  for (const Job &job : store_.recent(std::numeric_limits<int>::max())) known.insert(job.id);
  const std::string jobs_dir = settings_.data_dir + "/jobs";
  if (GDir *dir = g_dir_open(jobs_dir.c_str(), 0, nullptr)) {
    while (const gchar *name = g_dir_read_name(dir)) {
      if (known.count(name) == 0) {
        daemon_log("removing %s/%s: no job owns it (an upload cut short)", jobs_dir.c_str(), name);
        remove_tree(jobs_dir + "/" + name);
      } else {
        remove_partial_outputs(jobs_dir + "/" + name);
      }
    }
    g_dir_close(dir);
  }
  return true;
}

// A job left "processing" by a daemon that stopped, while the store could
// not yet put it back in the queue, is waiting: say so.
void JobScheduler::show_interrupted_as_waiting(Job &job) const {
  if (!recovered_ && job.status == JobStatus::processing && running_.count(job.id) == 0) {
    job.status = JobStatus::pending;
    job.progress = 0;
  }
}

void JobScheduler::set_model_state(bool ready, const std::string &unavailable_reason) {
  model_ready_ = ready;
  model_unavailable_ = unavailable_reason;
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
  std::optional<Job> job = store_.find(id);
  if (job) show_interrupted_as_waiting(*job);
  return job;
}

std::vector<Job> JobScheduler::recent(int limit) const {
  std::vector<Job> jobs = store_.recent(limit);
  for (Job &job : jobs) {
    auto running = running_.find(job.id);
    if (running != running_.end()) job = running->second.job;
    show_interrupted_as_waiting(job);
  }
  return jobs;
}

std::optional<int> JobScheduler::queue_position(const std::string &id) const {
  const std::vector<Job> waiting = store_.pending();
  for (std::size_t i = 0; i < waiting.size(); ++i)
    if (waiting[i].id == id) return static_cast<int>(i) + 1;
  return std::nullopt;
}

int JobScheduler::pending_count() const { return store_.pending_count(); }

bool JobScheduler::remove(const std::string &id) {
  std::optional<Job> job = find(id);
  if (!job) return false;
  auto running = running_.find(id);
  if (running != running_.end()) {
    running->second.worker->kill();  // SIGKILL; GLib reaps it
    running_.erase(running);
    daemon_log("job %s: cancelled while processing", id.c_str());
  }
  store_.remove(id);
  delete_files(id);
  daemon_log("job %s: deleted", id.c_str());
  notify(*job, true);
  schedule_start();
  return true;
}

int JobScheduler::remove_expired(std::int64_t ttl_seconds) {
  const std::int64_t cutoff = g_get_real_time() - ttl_seconds * G_USEC_PER_SEC;
  int removed = 0;
  for (const Job &job : store_.finished_before(cutoff)) {
    if (running_.count(job.id)) continue;
    store_.remove(job.id);
    delete_files(job.id);
    daemon_log("job %s: expired and removed (finished more than %lld s ago)", job.id.c_str(),
               static_cast<long long>(ttl_seconds));
    notify(job, true);
    ++removed;
  }
  return removed;
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
  for (const Listener &listener : to_call) listener(job, deleted);
}

void JobScheduler::delete_files(const std::string &id) { remove_tree(job_folder(id)); }

void JobScheduler::schedule_start() {
  // From the main loop, never from inside a pipeline's callback.
  if (start_source_ == 0) start_source_ = g_idle_add(on_start_waiting, this);
}

gboolean JobScheduler::on_start_waiting(gpointer data) {
  auto *self = static_cast<JobScheduler *>(data);
  self->start_source_ = 0;
  self->start_waiting_jobs();
  return G_SOURCE_REMOVE;
}

void JobScheduler::start_waiting_jobs() {
  if (!model_unavailable_.empty()) {
    for (Job job : store_.pending()) {
      set_state(job, JobStatus::error, 0.0, model_unavailable_);
      notify(job, false);
    }
    return;
  }
  if (!model_ready_ || stopping_ || !recovered_) return;
  for (Job &job : store_.pending()) {
    if (static_cast<int>(running_.size()) >= settings_.max_jobs) break;
    if (running_.count(job.id)) continue;
    start(std::move(job));
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
  if (settings_.max_audio_seconds > 0) {
    arguments.push_back("--max-seconds");
    arguments.push_back(std::to_string(settings_.max_audio_seconds));
  }
  if (settings_.test_faults) {
    const std::string name = job.filename.substr(0, job.filename.find('.'));
    if (name == "crash" || name == "hang" || name == "allocate" || name == "flood") {
      arguments.push_back("--test-fault");
      arguments.push_back(name);
    }
  }
  return arguments;
}

void JobScheduler::start(Job job) {
  const std::string id = job.id;
  set_state(job, JobStatus::processing, 0.0, "");
  Running &running = running_[id];
  running.job = job;
  running.worker = std::make_unique<WorkerProcess>(worker_arguments(job), settings_.worker_limits);
  notify(job, false);
  std::string error;
  const bool started = running.worker->start(
      [this, id](JsonObject *event) {
        guarded("a worker's event", [&] {
          if (g_strcmp0(json_object_get_string_member_with_default(event, "event", ""), "progress") == 0)
            on_progress(id, json_object_get_double_member_with_default(event, "percent", 0.0));
        });
      },
      [this, id](const WorkerOutcome &outcome) { guarded("a worker's end", [&] { on_done(id, outcome); }); },
      error);
  if (!started) on_done(id, WorkerOutcome{false, "failed", error});
}

void JobScheduler::on_progress(const std::string &id, double percent) {
  auto running = running_.find(id);
  if (running == running_.end()) return;
  Job &job = running->second.job;
  // The result being written must not fill the disk.
  if (!disk_.above_minimum()) {
    running->second.worker->kill();
    on_done(id, WorkerOutcome{false, "disk_full", disk_full_text(disk_.min_free_bytes())});
    return;
  }
  percent = std::clamp(percent, 0.0, 100.0);
  if (percent <= job.progress) return;
  // The store gets whole percents; listeners get every step.
  const bool store = std::floor(percent) > std::floor(job.progress);
  job.progress = percent;
  if (store) store_state(job);
  notify(job, false);
}

void JobScheduler::on_done(const std::string &id, const WorkerOutcome &outcome) {
  auto running = running_.find(id);
  if (running == running_.end()) return;
  Job job = running->second.job;
  // Erasing destroys the WorkerProcess, which may be the caller: it allows that.
  running_.erase(running);
  if (outcome.ok) {
    set_state(job, JobStatus::completed, 100.0, "");
  } else {
    g_remove(partial_output_path(job.output_path).c_str());
    const std::string message =
        outcome.kind == "disk_full" && outcome.message.find("disk full") == std::string::npos
            ? "disk full: the server ran out of space while writing the result (" + outcome.message + ")"
            : outcome.message;
    set_state(job, JobStatus::error, job.progress, message);
  }
  notify(job, false);
  schedule_start();
}

void JobScheduler::set_state(Job &job, JobStatus status, double progress, const std::string &error_message) {
  job.status = status;
  job.progress = progress;
  job.error_message = error_message;
  const bool finished = status == JobStatus::completed || status == JobStatus::error;
  job.finished_at = finished ? g_get_real_time() : 0;
  store_state(job);
  if (status == JobStatus::error)
    daemon_log("job %s: error: %s", job.id.c_str(), error_message.c_str());
  else
    daemon_log("job %s: %s", job.id.c_str(), job_status_name(status));
}

}  // namespace demucs
