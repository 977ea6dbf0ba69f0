// The jobs and their queue, as every part of the daemon sees them. Two
// implementations: SQLite (sqlite_job_store.h), a file in the data folder
// that one daemon owns, the default; and PostgreSQL (postgres_job_store.h),
// one database that any number of daemons ("nodes") share. Nothing above
// this interface knows which one it talks to.
//
// A job runs on the node that claimed it. A claim is a lease: the node
// renews it while the job runs; a job whose lease ran out (its node died or
// lost the database) goes back to the queue, and every write about a
// running job is taken only from the node that holds its lease.
#pragma once

#include "job.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace demucs {

/// The database cannot be opened, read or written (or is unreachable just
/// now); the message says which database and why.
class JobStoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A change another node made to a job (PostgreSQL only): a new or changed
/// state, or the job's removal.
struct JobChange {
  std::string id;
  std::optional<JobStatus> status;  ///< nullopt when deleted
  double progress = 0;
  bool deleted = false;
};

class JobStore {
 public:
  using ChangeListener = std::function<void(const JobChange &change)>;
  /// The connection came back (true) or was lost (false).
  using ConnectionListener = std::function<void(bool connected)>;

  virtual ~JobStore() = default;

  /// "SQLite /data/jobs.sqlite3", "PostgreSQL db on /run/postgresql": for
  /// logs and /health, never with a password.
  virtual std::string description() const = 0;
  /// "sqlite" or "postgresql".
  virtual const char *kind() const = 0;
  /// Whether other daemons may use the same jobs (then the queue, leases and
  /// expiry are shared with them).
  virtual bool shared() const = 0;
  /// Whether the database answers now; when not, `last_error` says why.
  virtual bool connected() const { return true; }
  virtual std::string last_error() const { return ""; }

  /// Stores a new pending job; sets job.sequence (its place in the queue).
  virtual void insert(Job &job) = 0;
  virtual std::optional<Job> find(const std::string &id) const = 0;
  /// The newest `limit` jobs, newest first.
  virtual std::vector<Job> recent(int limit) const = 0;
  /// Every job's id (to find folders that no job owns).
  virtual std::vector<std::string> ids() const = 0;
  virtual int pending_count() const = 0;
  /// 1 for the next job to be claimed; nullopt unless the job is pending.
  virtual std::optional<int> queue_position(const std::string &id) const = 0;

  /// Takes the oldest pending job for `node`: it becomes processing
  /// (progress 0, one more attempt) with a lease of `lease_seconds`. Never
  /// gives one job to two claims. nullopt when none waits.
  virtual std::optional<Job> claim_next(const std::string &node, int lease_seconds) = 0;
  /// Extends the leases `node` holds on `ids`; returns the ids whose lease
  /// it no longer holds (expired and taken back, or the job deleted).
  virtual std::vector<std::string> renew_leases(const std::string &node, const std::vector<std::string> &ids,
                                                int lease_seconds) = 0;
  /// Writes status, progress, error message, finished_at and output_path
  /// (each attempt writes in a folder of its own) of a job that `node`
  /// holds; false (nothing written) when it does not hold it.
  virtual bool update_state(const Job &job, const std::string &node) = 0;
  /// Gives a job `node` holds back to the queue (pending, progress 0).
  virtual bool release(const std::string &id, const std::string &node) = 0;
  /// Processing jobs whose lease has ended (by the database's clock) go back
  /// to the queue; with `every_one`, all processing jobs, whatever their
  /// lease (a daemon that owns the store alone, at its start: every job it
  /// finds processing was interrupted). Returns how many.
  virtual int requeue_expired(bool every_one = false) = 0;

  /// Deletes the job, whatever its state; returns it as it was, or nullopt
  /// when there was none (another node deleted it first).
  virtual std::optional<Job> remove(const std::string &id) = 0;
  /// Deletes the finished jobs (completed or error) that finished before
  /// `unix_microseconds` and returns them: each to exactly one caller, so
  /// that nodes cleaning up at once never both take one job.
  virtual std::vector<Job> remove_finished_before(std::int64_t unix_microseconds) = 0;

  /// Says that `node` is alive for `lease_seconds` more, and whether it can
  /// run jobs now (a worker with its model); `able` false and 0 s when it
  /// stops. A shared store keeps the nodes' list; SQLite has no use for it.
  virtual void announce_node(const std::string &node, bool able, int lease_seconds) {
    (void)node, (void)able, (void)lease_seconds;
  }
  /// How many live nodes other than `node` can run jobs now.
  virtual int other_able_nodes(const std::string &node) const {
    (void)node;
    return 0;
  }

  /// Changes made by other nodes (not called for this store's own writes).
  virtual void on_change(ChangeListener listener) { (void)listener; }
  virtual void on_connection(ConnectionListener listener) { (void)listener; }
};

/// Opens the job store that `database` names: "" (the default: SQLite in
/// `data_dir`/jobs.sqlite3), "sqlite:PATH", or a PostgreSQL URL
/// ("postgresql://..." or "postgres://...", where libpq's PG* environment
/// variables fill in what the URL leaves out). `node` names this daemon in
/// the database (PostgreSQL's application_name). Throws JobStoreError when
/// the database cannot be opened or its schema made; a PostgreSQL server
/// that is only unreachable is not an error here: the store keeps trying.
std::unique_ptr<JobStore> open_job_store(const std::string &database, const std::string &data_dir,
                                         const std::string &node);

/// Whether `database` names a PostgreSQL database.
bool is_postgresql_url(const std::string &database);

}  // namespace demucs
