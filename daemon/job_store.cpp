#include "job_store.h"

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
  finished_at   INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, sequence);
)SQL";

// The schema's version (PRAGMA user_version): 1 had no finished_at.
constexpr int kSchemaVersion = 2;

constexpr const char *kColumns =
    "sequence, id, filename, stem, format, status, progress, error_message, created_at, input_path, output_path, "
    "finished_at";

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

JobStore::JobStore(const std::string &path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw JobStoreError("cannot open the job database " + path + ": " + message);
  }
  sqlite3_busy_timeout(db_, 5000);
  execute("PRAGMA journal_mode=WAL");
  execute("PRAGMA synchronous=NORMAL");
  execute(kSchema);
  migrate();
}

// Brings a database made by an older daemon up to kSchemaVersion, in place.
void JobStore::migrate() {
  Statement version(db_, "PRAGMA user_version");
  if (!version || sqlite3_step(version.get()) != SQLITE_ROW) fail("cannot read the schema version");
  const int found = sqlite3_column_int(version.get(), 0);
  if (found >= kSchemaVersion) return;
  bool has_finished_at = false;
  {
    Statement columns(db_, "PRAGMA table_info(jobs)");
    while (columns && sqlite3_step(columns.get()) == SQLITE_ROW)
      has_finished_at = has_finished_at || column_text(columns.get(), 1) == "finished_at";
  }
  execute("BEGIN IMMEDIATE");
  try {
    if (!has_finished_at) {
      // Jobs finished before the column existed count from their creation.
      execute("ALTER TABLE jobs ADD COLUMN finished_at INTEGER");
      execute("UPDATE jobs SET finished_at = created_at WHERE status IN ('completed', 'error')");
    }
    execute(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    execute("COMMIT");
  } catch (const JobStoreError &) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

JobStore::~JobStore() { sqlite3_close(db_); }

void JobStore::fail(const std::string &what) const {
  throw JobStoreError("job database " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

void JobStore::execute(const char *sql) const {
  char *error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw JobStoreError("job database " + path_ + ": " + message);
  }
}

void JobStore::insert(Job &job) {
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

void JobStore::update_state(const Job &job) {
  Statement statement(db_,
                      "UPDATE jobs SET status = ?1, progress = ?2, error_message = ?3, finished_at = ?5 WHERE id = ?4");
  if (!statement) fail("cannot prepare an update");
  statement.bind(1, std::string(job_status_name(job.status)));
  statement.bind(2, job.progress);
  statement.bind(3, job.error_message);
  statement.bind(4, job.id);
  if (job.finished_at > 0) statement.bind(5, job.finished_at);  // else NULL
  if (sqlite3_step(statement.get()) != SQLITE_DONE) fail("cannot update job " + job.id);
}

void JobStore::remove(const std::string &id) {
  Statement statement(db_, "DELETE FROM jobs WHERE id = ?1");
  if (!statement) fail("cannot prepare a delete");
  statement.bind(1, id);
  if (sqlite3_step(statement.get()) != SQLITE_DONE) fail("cannot delete job " + id);
}

std::vector<Job> JobStore::select(const std::string &where_and_order, const std::vector<std::string> &texts,
                                  const std::vector<std::int64_t> &numbers) const {
  Statement statement(db_, std::string("SELECT ") + kColumns + " FROM jobs " + where_and_order);
  if (!statement) fail("cannot prepare a query");
  int index = 1;
  for (const std::string &text : texts) statement.bind(index++, text);
  for (std::int64_t number : numbers) statement.bind(index++, number);
  std::vector<Job> jobs;
  int step;
  while ((step = sqlite3_step(statement.get())) == SQLITE_ROW) {
    sqlite3_stmt *row = statement.get();
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
    jobs.push_back(std::move(job));
  }
  if (step != SQLITE_DONE) fail("cannot read jobs");
  return jobs;
}

std::optional<Job> JobStore::find(const std::string &id) const {
  std::vector<Job> jobs = select("WHERE id = ?1", {id}, {});
  if (jobs.empty()) return std::nullopt;
  return std::move(jobs.front());
}

std::vector<Job> JobStore::pending() const {
  return select("WHERE status = 'pending' ORDER BY sequence", {}, {});
}

int JobStore::pending_count() const {
  Statement statement(db_, "SELECT COUNT(*) FROM jobs WHERE status = 'pending'");
  if (!statement || sqlite3_step(statement.get()) != SQLITE_ROW) fail("cannot count the pending jobs");
  return sqlite3_column_int(statement.get(), 0);
}

std::vector<Job> JobStore::recent(int limit) const {
  return select("ORDER BY sequence DESC LIMIT ?1", {}, {limit});
}

std::vector<Job> JobStore::finished_before(std::int64_t unix_microseconds) const {
  return select("WHERE status IN ('completed', 'error') AND finished_at < ?1 ORDER BY sequence", {},
                {unix_microseconds});
}

int JobStore::requeue_interrupted() {
  execute("UPDATE jobs SET status = 'pending', progress = 0 WHERE status = 'processing'");
  return sqlite3_changes(db_);
}

}  // namespace demucs
