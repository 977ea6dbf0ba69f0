#include "job_scheduler.h"

#include "daemon_log.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace demucs {

namespace {

// Deletes a folder and everything in it (job folders hold only plain files).
void remove_tree(const std::string &path) {
  GDir *dir = g_dir_open(path.c_str(), 0, nullptr);
  if (dir == nullptr) {
    g_remove(path.c_str());
    return;
  }
  while (const gchar *name = g_dir_read_name(dir)) {
    const std::string child = path + G_DIR_SEPARATOR_S + name;
    if (g_file_test(child.c_str(), G_FILE_TEST_IS_DIR) && !g_file_test(child.c_str(), G_FILE_TEST_IS_SYMLINK))
      remove_tree(child);
    else
      g_remove(child.c_str());
  }
  g_dir_close(dir);
  g_rmdir(path.c_str());
}

// Deletes the *.partial files (outputs cut short by a stop) in a job folder.
void remove_partial_outputs(const std::string &folder) {
  GDir *dir = g_dir_open(folder.c_str(), 0, nullptr);
  if (dir == nullptr) return;
  while (const gchar *name = g_dir_read_name(dir))
    if (g_str_has_suffix(name, ".partial")) g_remove((folder + "/" + name).c_str());
  g_dir_close(dir);
}

}  // namespace

JobScheduler::JobScheduler(JobStore &store, SchedulerSettings settings)
    : store_(store), settings_(std::move(settings)) {
  g_mkdir_with_parents((settings_.data_dir + "/jobs").c_str(), 0700);
}

JobScheduler::~JobScheduler() {
  if (start_source_) g_source_remove(start_source_);
  for (auto &entry : running_) {
    daemon_log("job %s: stopped by shutdown; it will run again at the next start", entry.first.c_str());
    entry.second.pipeline->cancel();
  }
  running_.clear();
}

std::string JobScheduler::job_folder(const std::string &id) const { return settings_.data_dir + "/jobs/" + id; }

void JobScheduler::recover() {
  const int requeued = store_.requeue_interrupted();
  if (requeued > 0) daemon_log("%d interrupted job(s) queued again", requeued);

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
  return store_.find(id);
}

std::vector<Job> JobScheduler::recent(int limit) const {
  std::vector<Job> jobs = store_.recent(limit);
  for (Job &job : jobs) {
    auto running = running_.find(job.id);
    if (running != running_.end()) job = running->second.job;
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
    running->second.pipeline->cancel();
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
  for (const Job &job : store_.created_before(cutoff)) {
    if (job.status != JobStatus::completed && job.status != JobStatus::error) continue;
    store_.remove(job.id);
    delete_files(job.id);
    daemon_log("job %s: expired and removed (older than %lld s)", job.id.c_str(),
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
  if (!model_ready_) return;
  for (Job &job : store_.pending()) {
    if (static_cast<int>(running_.size()) >= settings_.max_jobs) break;
    if (running_.count(job.id)) continue;
    start(std::move(job));
  }
}

void JobScheduler::start(Job job) {
  const std::string id = job.id;
  SeparationSettings separation;
  separation.input_path = job.input_path;
  separation.output_path = job.output_path;
  separation.format = output_format_from_name(job.format).value_or(OutputFormat::wav);
  separation.model = settings_.model;
  separation.device = settings_.device;
  separation.stem = job.stem;

  set_state(job, JobStatus::processing, 0.0, "");
  Running &running = running_[id];
  running.job = job;
  running.pipeline = std::make_unique<SeparationPipeline>(separation);
  notify(job, false);
  running.pipeline->start(
      [this, id](double percent, GstClockTime, GstClockTime) { on_progress(id, percent); },
      [this, id](bool ok, const std::string &error_message) { on_done(id, ok, error_message); });
}

void JobScheduler::on_progress(const std::string &id, double percent) {
  auto running = running_.find(id);
  if (running == running_.end()) return;
  Job &job = running->second.job;
  percent = std::clamp(percent, 0.0, 100.0);
  if (percent <= job.progress) return;
  // The store gets whole percents; listeners get every step.
  const bool store = std::floor(percent) > std::floor(job.progress);
  job.progress = percent;
  if (store) store_.update_state(job);
  notify(job, false);
}

void JobScheduler::on_done(const std::string &id, bool ok, const std::string &error_message) {
  auto running = running_.find(id);
  if (running == running_.end()) return;
  Job job = running->second.job;
  // The pipeline may be destroyed from inside its own callback.
  running_.erase(running);
  if (ok)
    set_state(job, JobStatus::completed, 100.0, "");
  else
    set_state(job, JobStatus::error, job.progress, error_message);
  notify(job, false);
  schedule_start();
}

void JobScheduler::set_state(Job &job, JobStatus status, double progress, const std::string &error_message) {
  job.status = status;
  job.progress = progress;
  job.error_message = error_message;
  store_.update_state(job);
  if (status == JobStatus::error)
    daemon_log("job %s: error: %s", job.id.c_str(), error_message.c_str());
  else
    daemon_log("job %s: %s", job.id.c_str(), job_status_name(status));
}

}  // namespace demucs
