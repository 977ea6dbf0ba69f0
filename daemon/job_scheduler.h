// Runs the jobs: at most max_jobs worker processes at once (each job one
// `demucs-vocalsd worker separate`, worker_process.h), the others waiting in
// upload order; each job's state goes to the store as it changes and to
// whoever listens (the Server-Sent Events streams). A worker that crashes,
// stalls, runs too long or hits a limit ends its job in error; the others go
// on; a job claimed more than max_attempts times (each run cut short by its
// node's end) ends in error. Everything happens on the daemon's main loop;
// nothing here blocks.
//
// Several nodes may share one store (PostgreSQL): a node claims the jobs it
// runs, renews their leases every lease/6 seconds (the heartbeat), stops a
// job whose lease it lost, and stops its jobs itself when it could not
// renew them for 2/3 of a lease (so that two nodes never run one job): from
// the heartbeat, and from a thread of its own (lease_watchdog.h) while the
// main loop waits on the database. Each attempt at a job writes in a folder
// of its own (jobs/<id>/attempt-<n>/), so two attempts never share a path.
// Changes other nodes make reach this node's listeners through the store.
// A node with runs_jobs false (--role api) only queues and reports.
#pragma once

#include "disk_space.h"
#include "job.h"
#include "job_store.h"
#include "lease_watchdog.h"
#include "worker_process.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace demucs {

struct SchedulerSettings {
  std::string data_dir;  ///< jobs live in data_dir/jobs/<id>/
  std::string model;
  std::string config;     ///< a RoFormer model's YAML; "" for the element's default (beside the .ckpt)
  std::string device;
  std::string precision;  ///< "" for the element's default
  int max_jobs = 1;
  std::string worker_program;  ///< the demucs-vocalsd executable
  WorkerLimits worker_limits;
  double max_audio_seconds = 0;  ///< a worker stops a longer decode; 0: no limit
  bool test_faults = false;      ///< DEMUCS_VOCALSD_TEST_WORKER_FAULT: jobs named crash/hang/allocate/flood.* fault
  std::string node;              ///< this daemon's name in the store (leases, logs)
  bool runs_jobs = true;         ///< false: --role api
  int lease_seconds = 30;        ///< how long a claim holds without a heartbeat
  int max_attempts = 3;          ///< a job claimed more often than this (each run cut short) ends in error; 0: no cap
};

class JobScheduler {
 public:
  /// A job changed (deleted: it was removed, `job` is its last state).
  using Listener = std::function<void(const Job &job, bool deleted)>;

  JobScheduler(JobStore &store, DiskSpace &disk, SchedulerSettings settings);
  /// Kills running workers and puts their jobs back in the queue: they run
  /// again from the start (here at the next start-up, or on another node).
  ~JobScheduler();
  JobScheduler(const JobScheduler &) = delete;
  JobScheduler &operator=(const JobScheduler &) = delete;

  /// The folder of a job's files.
  std::string job_folder(const std::string &id) const;

  /// Puts jobs left "processing" by a stopped daemon back in the queue (with
  /// a shared store: those whose lease ended) and removes job folders that
  /// no job owns (uploads cut short): with SQLite those from before this
  /// scheduler was made, with a shared store those 6 hours old (another
  /// node may be receiving the upload). Call at start, and again until it
  /// returns true: false when the store cannot be written (a full disk, an
  /// unreachable database); no job starts until it succeeds.
  bool recover();

  /// Whether pipelines may start: false while the model downloads or loads.
  /// When `unavailable_reason` is not empty: alone on the store, every
  /// waiting and future job ends in error with it instead; on a shared
  /// store this node only stops claiming (other nodes run the jobs).
  void set_model_state(bool ready, const std::string &unavailable_reason);
  /// Called when a job arrives while the model is unavailable, to try again
  /// to get it; the job waits for the outcome.
  void on_model_wanted(std::function<void()> request) { request_model_ = std::move(request); }

  /// Stores a new pending job (sets job.sequence) and starts it when a slot is free.
  void submit(Job &job);
  /// Kills the job's worker if it runs, deletes its files and the job. At
  /// once: nothing waits for the worker. False if there is no such job.
  bool remove(const std::string &id);
  /// Removes finished jobs (completed or error) that finished more than
  /// `ttl_seconds` ago, with their files. Returns how many.
  int remove_expired(std::int64_t ttl_seconds);
  /// No new job starts from now on (shutting down); running ones go on.
  void stop_starting() { stopping_ = true; }

  /// A job, with the live progress of a running one.
  std::optional<Job> find(const std::string &id) const;
  /// The newest `limit` jobs, newest first, with live progress.
  std::vector<Job> recent(int limit) const;
  /// 1 for the next job to start; nullopt unless the job is pending.
  std::optional<int> queue_position(const std::string &id) const;
  int pending_count() const;
  /// The jobs running on this node.
  int running_count() const { return static_cast<int>(running_.size()); }
  const SchedulerSettings &settings() const { return settings_; }
  const JobStore &store() const { return store_; }

  int subscribe(const std::string &id, Listener listener);
  void unsubscribe(int token);

 private:
  struct Running {
    Job job;
    std::unique_ptr<WorkerProcess> worker;
    gint64 lease_renewed = 0;  ///< monotonic time of the last renewal
  };
  /// A finished job whose last state the store did not take (unreachable):
  /// written again at each heartbeat, its lease renewed meanwhile.
  struct Unsaved {
    Job job;
    gint64 lease_renewed = 0;
  };

  void start_waiting_jobs();
  void fail_waiting_jobs();
  void heartbeat();
  void announce();
  void stop_lost(const std::string &id, const std::string &why);
  void on_store_change(const JobChange &change);
  bool save_final_state(const Job &job);
  static gboolean on_heartbeat(gpointer self);
  void show_interrupted_as_waiting(Job &job) const;
  void start(Job job);
  void give_up(Job job);
  void on_progress(const std::string &id, double percent);
  void on_done(const std::string &id, const WorkerOutcome &outcome);
  std::vector<std::string> worker_arguments(const Job &job) const;
  void set_state(Job &job, JobStatus status, double progress, const std::string &error_message);
  /// False when this node no longer holds the job's lease.
  bool store_state(const Job &job);
  void notify(const Job &job, bool deleted);
  void delete_files(const std::string &id);
  void retire(std::unique_ptr<WorkerProcess> worker);
  void end_attempt(const std::string &id);
  void remove_stale_attempts(const std::string &folder, const std::string &keep, std::int64_t idle_seconds);
  static gboolean on_destroy_retired(gpointer self);
  void schedule_start();
  static gboolean on_start_waiting(gpointer self);

  JobStore &store_;
  DiskSpace &disk_;
  SchedulerSettings settings_;
  const std::int64_t started_at_;  ///< Unix seconds: folders changed since may be uploads in progress
  bool stopping_ = false;
  bool recovered_ = false;
  bool model_ready_ = false;
  std::string model_unavailable_;
  std::function<void()> request_model_;
  std::map<std::string, Running> running_;
  std::map<std::string, Unsaved> unsaved_;
  std::unique_ptr<LeaseWatchdog> watchdog_;  // with a shared store only
  std::vector<std::unique_ptr<WorkerProcess>> retired_workers_;  // killed; destroyed when idle
  guint retired_source_ = 0;
  std::multimap<std::string, std::pair<int, Listener>> listeners_;  // by job id
  int next_token_ = 1;
  guint start_source_ = 0;
  guint heartbeat_source_ = 0;
  bool reported_no_model_ = false;
};

}  // namespace demucs
