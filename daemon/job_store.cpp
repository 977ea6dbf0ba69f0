#include "job_store.h"

#include "postgres_job_store.h"
#include "sqlite_job_store.h"

namespace demucs {

bool is_postgresql_url(const std::string &database) {
  return database.rfind("postgresql://", 0) == 0 || database.rfind("postgres://", 0) == 0;
}

std::unique_ptr<JobStore> open_job_store(const std::string &database, const std::string &data_dir,
                                         const std::string &node) {
  if (database.empty()) return std::make_unique<SqliteJobStore>(data_dir + "/jobs.sqlite3");
  if (database.rfind("sqlite:", 0) == 0) {
    const std::string path = database.substr(7);
    if (path.empty()) throw JobStoreError("--database sqlite: needs a file: sqlite:/path/to/jobs.sqlite3");
    return std::make_unique<SqliteJobStore>(path);
  }
  if (is_postgresql_url(database)) return std::make_unique<PostgresJobStore>(database, node);
  // Not the whole value: it may hold a password.
  throw JobStoreError("--database \"" + database.substr(0, database.find(':')) +
                      ":...\" is not a database this daemon knows: use sqlite:PATH or a PostgreSQL URL "
                      "(postgresql://user@host/database)");
}

}  // namespace demucs
