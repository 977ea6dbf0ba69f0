// The jobs, kept in an SQLite database in the data folder, so that a restart
// loses nothing. A database of an older daemon is migrated in place (its
// version is PRAGMA user_version). Every change is written at once (each statement is its own
// transaction; the database is in WAL mode so that a crash leaves it whole).
#pragma once

#include "job.h"

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace demucs {

/// The database cannot be opened, read or written; the message names the file.
class JobStoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class JobStore {
 public:
  /// Opens (creating if needed) the database at `path`. Throws JobStoreError.
  explicit JobStore(const std::string &path);
  ~JobStore();
  JobStore(const JobStore &) = delete;
  JobStore &operator=(const JobStore &) = delete;

  /// Stores a new job; sets job.sequence (the next in upload order).
  void insert(Job &job);
  /// Status, progress and error message of `job` (by id).
  void update_state(const Job &job);
  void remove(const std::string &id);

  std::optional<Job> find(const std::string &id) const;
  /// The pending jobs, in upload order.
  std::vector<Job> pending() const;
  int pending_count() const;
  /// The jobs, newest first, at most `limit`.
  std::vector<Job> recent(int limit) const;
  /// Finished jobs (completed or error) that finished before `unix_microseconds`.
  std::vector<Job> finished_before(std::int64_t unix_microseconds) const;
  /// Jobs left "processing" by a daemon that stopped: back to pending, progress
  /// 0, so that they run again from the start. Returns how many.
  int requeue_interrupted();

 private:
  void execute(const char *sql) const;
  void migrate();
  std::vector<Job> select(const std::string &where_and_order, const std::vector<std::string> &texts,
                          const std::vector<std::int64_t> &numbers) const;
  [[noreturn]] void fail(const std::string &what) const;

  std::string path_;
  sqlite3 *db_ = nullptr;
};

}  // namespace demucs
