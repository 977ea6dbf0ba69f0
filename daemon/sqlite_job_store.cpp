#include "sqlite_job_store.h"

#include <glib.h>

#include <limits>
#include <set>

namespace demucs {

namespace {

constexpr const char *kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS jobs (
  sequence      INTEGER PRIMARY KEY AUTOINCREMENT,
  id            TEXT NOT NULL UNIQUE,
  filename      TEXT NOT NULL,
  stem          TEXT NOT NULL,
  format        TEXT NOT NULL,
  status        TEXT NOT NULL,
  progress      REAL NOT NULL DEFAULT 0,
  error_message TEXT NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  input_path    TEXT NOT NULL,
  output_path   TEXT NOT NULL,
  finished_at   INTEGER,
  owner         TEXT,
  lease_until   INTEGER,
  attempts      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, sequence);
)SQL";

// The schema's version (PRAGMA user_version): 1 had no finished_at, 2 no
// owner, lease_until and attempts.
constexpr int kSchemaVersion = 3;

constexpr const char *kColumns =
    "sequence, id, filename, stem, format, status, progress, error_message, created_at, input_path, output_path, "
    "finished_at, owner, lease_until, attempts";

std::string column_text(sqlite3_stmt *statement, int column) {
  const unsigned char *text = sqlite3_column_text(statement, column);
  return text ? reinterpret_cast<const char *>(text) : "";
}

// A prepared statement, finalized when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3 *db, const std::string &sql) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement_, nullptr) != SQLITE_OK) statement_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement &) = delete;
  Statement &operator=(const Statement &) = delete;
  sqlite3_stmt *get() const { return statement_; }
  explicit operator bool() const { return statement_ != nullptr; }
  void bind(int index, const std::string &text) {
    sqlite3_bind_text(statement_, index, text.c_str(), -1, SQLITE_TRANSIENT);
  }
  void bind(int index, std::int64_t number) { sqlite3_bind_int64(statement_, index, number); }
  void bind(int index, double number) { sqlite3_bind_double(statement_, index, number); }

 private:
  sqlite3_stmt *statement_ = nullptr;
};

}  // namespace

SqliteJobStore::SqliteJobStore(const std::string &path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw JobStoreError("cannot open the job database " + path + ": " + message);
  }
  sqlite3_busy_timeout(db_, 5000);
  execute("PRAGMA journal_mode=WAL");
  // FULL: a job acknowledged to its uploader survives a power cut (NORMAL
  // in WAL mode may lose the last commits). The store writes a few rows a
  // second at most (progress in whole percents), so the fsyncs cost little.
  execute("PRAGMA synchronous=FULL");
  execute(kSchema);
  migrate();
}

// Brings a database made by an older daemon up to kSchemaVersion, in place.
void SqliteJobStore::migrate() {
  Statement version(db_, "PRAGMA user_version");
  if (!version || sqlite3_step(version.get()) != SQLITE_ROW) fail("cannot read the schema version");
  const int found = sqlite3_column_int(version.get(), 0);
  if (found >= kSchemaVersion) return;
  std::set<std::string> columns;
  {
    Statement table_info(db_, "PRAGMA table_info(jobs)");
    while (table_info && sqlite3_step(table_info.get()) == SQLITE_ROW)
      columns.insert(column_text(table_info.get(), 1));
  }
  execute("BEGIN IMMEDIATE");
  try {
    if (columns.count("finished_at") == 0) {
      // Jobs finished before the column existed count from their creation.
      execute("ALTER TABLE jobs ADD COLUMN finished_at INTEGER");
      execute("UPDATE jobs SET finished_at = created_at WHERE status IN ('completed', 'error')");
    }
    if (columns.count("owner") == 0) {
      execute("ALTER TABLE jobs ADD COLUMN owner TEXT");
      execute("ALTER TABLE jobs ADD COLUMN lease_until INTEGER");
      execute("ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0");
    }
    execute(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    execute("COMMIT");
  } catch (const JobStoreError &) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

SqliteJobStore::~SqliteJobStore() { sqlite3_close(db_); }

int SqliteJobStore::synchronous_level() const {
  Statement statement(db_, "PRAGMA synchronous");
  if (!statement || sqlite3_step(statement.get()) != SQLITE_ROW) fail("cannot read PRAGMA synchronous");
  return sqlite3_column_int(statement.get(), 0);
}

void SqliteJobStore::fail(const std::string &what) const {
  throw JobStoreError("job database " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

void SqliteJobStore::execute(const char *sql) const {
  char *error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw JobStoreError("job database " + path_ + ": " + message);
  }
}

void SqliteJobStore::insert(Job &job) {
  Statement statement(db_,
                      "INSERT INTO jobs (id, filename, stem, format, status, progress, error_message, "
                      "created_at, input_path, output_path) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!statement) fail("cannot prepare an insert");
  statement.bind(1, job.id);
  statement.bind(2, job.filename);
  statement.bind(3, job.stem);
  statement.bind(4, job.format);
  statement.bind(5, std::string(job_status_name(job.status)));
  statement.bind(6, job.progress);
  statement.bind(7, job.error_message);
  statement.bind(8, job.created_at);
  statement.bind(9, job.input_path);
  statement.bind(10, job.output_path);
  if (sqlite3_step(statement.get()) != SQLITE_DONE) fail("cannot store job " + job.id);
  job.sequence = sqlite3_last_insert_rowid(db_);
}

// The node holding a lease is this process: the owner column only says
// which run of the daemon holds it, for the log and for symmetry with
// PostgreSQL; times come from this machine's clock.
bool SqliteJobStore::update_state(const Job &job, const std::string &node) {
  Statement statement(db_,
                      "UPDATE jobs SET status = ?1, progress = ?2, error_message = ?3, finished_at = ?5, "
                      "output_path = ?7, "
                      "owner = CASE WHEN ?1 = 'processing' THEN owner END, "
                      "lease_until = CASE WHEN ?1 = 'processing' THEN lease_until END "
                      "WHERE id = ?4 AND owner = ?6 AND status = 'processing'");
  if (!statement) fail("cannot prepare an update");
  statement.bind(1, std::string(job_status_name(job.status)));
  statement.bind(2, job.progress);
  statement.bind(3, job.error_message);
  statement.bind(4, job.id);
  if (job.finished_at > 0) statement.bind(5, job.finished_at);  // else NULL
  statement.bind(6, node);
  statement.bind(7, job.output_path);
  if (sqlite3_step(statement.get()) != SQLITE_DONE) fail("cannot update job " + job.id);
  return sqlite3_changes(db_) > 0;
}

std::optional<Job> SqliteJobStore::claim_next(const std::string &node, int lease_seconds) {
  Statement statement(db_,
                      std::string("UPDATE jobs SET status = 'processing', progress = 0, error_message = '', "
                                  "owner = ?1, lease_until = ?2, attempts = attempts + 1 "
                                  "WHERE sequence = (SELECT sequence FROM jobs WHERE status = 'pending' "
                                  "ORDER BY sequence LIMIT 1) RETURNING ") +
                          kColumns);
  if (!statement) fail("cannot prepare a claim");
  statement.bind(1, node);
  statement.bind(2, static_cast<std::int64_t>(g_get_real_time() + std::int64_t{lease_seconds} * G_USEC_PER_SEC));
  std::vector<Job> claimed = read_rows(statement.get());
  if (claimed.empty()) return std::nullopt;
  return std::move(claimed.front());
}

std::vector<std::string> SqliteJobStore::renew_leases(const std::string &node, const std::vector<std::string> &ids,
                                                      int lease_seconds) {
  std::vector<std::string> lost;
  const std::int64_t until = g_get_real_time() + std::int64_t{lease_seconds} * G_USEC_PER_SEC;
  for (const std::string &id : ids) {
    Statement statement(db_, "UPDATE jobs SET lease_until = ?1 WHERE id = ?2 AND owner = ?3 AND status = 'processing'");
    if (!statement) fail("cannot prepare a lease renewal");
    statement.bind(1, until);
    statement.bind(2, id);
    statement.bind(3, node);
    if (sqlite3_step(statement.get()) != SQLITE_DONE) fail("cannot renew the lease of job " + id);
    if (sqlite3_changes(db_) == 0) lost.push_back(id);
  }
  return lost;
}

bool SqliteJobStore::release(const std::string &id, const std::string &node) {
  Statement statement(db_,
                      "UPDATE jobs SET status = 'pending', progress = 0, owner = NULL, lease_until = NULL "
                      "WHERE id = ?1 AND owner = ?2 AND status = 'processing'");
  if (!statement) fail("cannot prepare a release");
  statement.bind(1, id);
  statement.bind(2, node);
  if (sqlite3_step(statement.get()) != SQLITE_DONE) fail("cannot queue job " + id + " again");
  return sqlite3_changes(db_) > 0;
}

int SqliteJobStore::requeue_expired(bool every_one) {
  Statement statement(db_,
                      "UPDATE jobs SET status = 'pending', progress = 0, owner = NULL, lease_until = NULL "
                      "WHERE status = 'processing' AND (lease_until IS NULL OR lease_until < ?1)");
  if (!statement) fail("cannot prepare a requeue");
  statement.bind(1, every_one ? std::numeric_limits<std::int64_t>::max() : std::int64_t{g_get_real_time()});
  if (sqlite3_step(statement.get()) != SQLITE_DONE) fail("cannot queue interrupted jobs again");
  return sqlite3_changes(db_);
}

std::optional<Job> SqliteJobStore::remove(const std::string &id) {
  Statement statement(db_, std::string("DELETE FROM jobs WHERE id = ?1 RETURNING ") + kColumns);
  if (!statement) fail("cannot prepare a delete");
  statement.bind(1, id);
  std::vector<Job> removed = read_rows(statement.get());
  if (removed.empty()) return std::nullopt;
  return std::move(removed.front());
}

std::vector<Job> SqliteJobStore::remove_finished_before(std::int64_t unix_microseconds) {
  Statement statement(db_, std::string("DELETE FROM jobs WHERE status IN ('completed', 'error') AND finished_at < ?1 "
                                       "RETURNING ") +
                               kColumns);
  if (!statement) fail("cannot prepare a delete");
  statement.bind(1, unix_microseconds);
  return read_rows(statement.get());
}

std::vector<Job> SqliteJobStore::read_rows(sqlite3_stmt *row) const {
  std::vector<Job> jobs;
  int step;
  while ((step = sqlite3_step(row)) == SQLITE_ROW) {
    Job job;
    job.sequence = sqlite3_column_int64(row, 0);
    job.id = column_text(row, 1);
    job.filename = column_text(row, 2);
    job.stem = column_text(row, 3);
    job.format = column_text(row, 4);
    job.status = job_status_from_name(column_text(row, 5)).value_or(JobStatus::error);
    job.progress = sqlite3_column_double(row, 6);
    job.error_message = column_text(row, 7);
    job.created_at = sqlite3_column_int64(row, 8);
    job.input_path = column_text(row, 9);
    job.output_path = column_text(row, 10);
    job.finished_at = sqlite3_column_int64(row, 11);  // NULL reads as 0
    job.owner = column_text(row, 12);
    job.lease_until = sqlite3_column_int64(row, 13);
    job.attempts = sqlite3_column_int(row, 14);
    jobs.push_back(std::move(job));
  }
  if (step != SQLITE_DONE) fail("cannot read jobs");
  return jobs;
}

std::vector<Job> SqliteJobStore::select(const std::string &where_and_order, const std::vector<std::string> &texts,
                                        const std::vector<std::int64_t> &numbers) const {
  Statement statement(db_, std::string("SELECT ") + kColumns + " FROM jobs " + where_and_order);
  if (!statement) fail("cannot prepare a query");
  int index = 1;
  for (const std::string &text : texts) statement.bind(index++, text);
  for (std::int64_t number : numbers) statement.bind(index++, number);
  return read_rows(statement.get());
}

std::optional<Job> SqliteJobStore::find(const std::string &id) const {
  std::vector<Job> jobs = select("WHERE id = ?1", {id}, {});
  if (jobs.empty()) return std::nullopt;
  return std::move(jobs.front());
}

std::vector<Job> SqliteJobStore::recent(int limit) const {
  return select("ORDER BY sequence DESC LIMIT ?1", {}, {limit});
}

std::vector<std::string> SqliteJobStore::ids() const {
  Statement statement(db_, "SELECT id FROM jobs");
  if (!statement) fail("cannot prepare a query");
  std::vector<std::string> ids;
  int step;
  while ((step = sqlite3_step(statement.get())) == SQLITE_ROW) ids.push_back(column_text(statement.get(), 0));
  if (step != SQLITE_DONE) fail("cannot read jobs");
  return ids;
}

int SqliteJobStore::pending_count() const {
  Statement statement(db_, "SELECT COUNT(*) FROM jobs WHERE status = 'pending'");
  if (!statement || sqlite3_step(statement.get()) != SQLITE_ROW) fail("cannot count the pending jobs");
  return sqlite3_column_int(statement.get(), 0);
}

std::optional<int> SqliteJobStore::queue_position(const std::string &id) const {
  Statement statement(db_,
                      "SELECT COUNT(*) FROM jobs AS waiting, jobs AS job WHERE job.id = ?1 AND job.status = 'pending' "
                      "AND waiting.status = 'pending' AND waiting.sequence <= job.sequence");
  if (!statement) fail("cannot prepare a query");
  statement.bind(1, id);
  if (sqlite3_step(statement.get()) != SQLITE_ROW) fail("cannot read the queue");
  const int position = sqlite3_column_int(statement.get(), 0);
  if (position == 0) return std::nullopt;
  return position;
}

}  // namespace demucs
