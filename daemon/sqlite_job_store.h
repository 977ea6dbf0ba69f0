// The job store in an SQLite file in the data folder: the default, for one
// daemon (data_dir_lock.h keeps a second one out). A database of an older
// daemon is migrated in place (its version is PRAGMA user_version). Every
// change is written at once (each statement is its own transaction; the
// database is in WAL mode so that a crash leaves it whole, and synchronous
// FULL so that a power cut loses no job it had acknowledged).
#pragma once

#include "job_store.h"

#include <sqlite3.h>

namespace demucs {

class SqliteJobStore final : public JobStore {
 public:
  /// Opens (creating if needed) the database at `path`. Throws JobStoreError.
  explicit SqliteJobStore(const std::string &path);
  ~SqliteJobStore() override;
  SqliteJobStore(const SqliteJobStore &) = delete;
  SqliteJobStore &operator=(const SqliteJobStore &) = delete;

  std::string description() const override { return "SQLite " + path_; }
  const char *kind() const override { return "sqlite"; }
  bool shared() const override { return false; }

  void insert(Job &job) override;
  std::optional<Job> find(const std::string &id) const override;
  std::vector<Job> recent(int limit) const override;
  std::vector<std::string> ids() const override;
  int pending_count() const override;
  std::optional<int> queue_position(const std::string &id) const override;

  std::optional<Job> claim_next(const std::string &node, int lease_seconds) override;
  std::vector<std::string> renew_leases(const std::string &node, const std::vector<std::string> &ids,
                                        int lease_seconds) override;
  bool update_state(const Job &job, const std::string &node) override;
  bool release(const std::string &id, const std::string &node) override;
  int requeue_expired(bool every_one) override;

  std::optional<Job> remove(const std::string &id) override;
  std::vector<Job> remove_finished_before(std::int64_t unix_microseconds) override;

  /// PRAGMA synchronous of the store's connection (2: FULL), for tests.
  int synchronous_level() const;

 private:
  void execute(const char *sql) const;
  void migrate();
  std::vector<Job> read_rows(sqlite3_stmt *statement) const;
  std::vector<Job> select(const std::string &where_and_order, const std::vector<std::string> &texts,
                          const std::vector<std::int64_t> &numbers) const;
  [[noreturn]] void fail(const std::string &what) const;

  std::string path_;
  sqlite3 *db_ = nullptr;
};

}  // namespace demucs
