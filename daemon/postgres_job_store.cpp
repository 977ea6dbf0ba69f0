#include "postgres_job_store.h"

#include "daemon_log.h"

#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>

namespace demucs {

namespace {

// The channel every change to a job is announced on.
constexpr const char *kChannel = "demucs_jobs";

// Taken (for the transaction) while a node makes or migrates the schema.
constexpr const char *kSchemaLockKey = "727001";

// The schema, one step a version; a step runs once, in a transaction, under
// the advisory lock, and is written down in demucs_schema with the node
// that ran it.
struct SchemaStep {
  int version;
  const char *sql;
};

const SchemaStep kSchemaSteps[] = {
    {1, R"SQL(
CREATE TABLE demucs_jobs (
  sequence      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id            text NOT NULL UNIQUE,
  filename      text NOT NULL,
  stem          text NOT NULL,
  format        text NOT NULL,
  status        text NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'error')),
  progress      double precision NOT NULL DEFAULT 0,
  error_message text NOT NULL DEFAULT '',
  created_at    bigint NOT NULL,
  input_path    text NOT NULL,
  output_path   text NOT NULL,
  finished_at   bigint,
  owner         text,
  lease_until   bigint,
  attempts      integer NOT NULL DEFAULT 0
);
CREATE INDEX demucs_jobs_by_status ON demucs_jobs (status, sequence);

-- Every change of a job's state or progress, and every insert and delete,
-- is announced to the nodes; the payload names the node that made it (its
-- application_name), so that a node can skip its own.
CREATE FUNCTION demucs_job_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('demucs_jobs', json_build_object(
      'node', current_setting('application_name'), 'id', OLD.id, 'deleted', true)::text);
    RETURN OLD;
  END IF;
  PERFORM pg_notify('demucs_jobs', json_build_object(
    'node', current_setting('application_name'), 'id', NEW.id, 'status', NEW.status,
    'progress', NEW.progress)::text);
  RETURN NEW;
END
$$;
CREATE TRIGGER demucs_jobs_added_or_deleted AFTER INSERT OR DELETE ON demucs_jobs
  FOR EACH ROW EXECUTE FUNCTION demucs_job_changed();
CREATE TRIGGER demucs_jobs_changed AFTER UPDATE ON demucs_jobs
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.progress IS DISTINCT FROM NEW.progress)
  EXECUTE FUNCTION demucs_job_changed();
)SQL"},
    {2, R"SQL(
-- The nodes, each renewing its row at its heartbeat: which of them could
-- run a job now (a node without its model fails jobs only when none can).
CREATE TABLE demucs_nodes (
  name        text PRIMARY KEY,
  able        boolean NOT NULL,
  seen_until  bigint NOT NULL
);
)SQL"},
};

constexpr const char *kColumns =
    "sequence, id, filename, stem, format, status, progress, error_message, created_at, input_path, output_path, "
    "finished_at, owner, lease_until, attempts";

// The database's clock, in microseconds since the epoch: every node's
// leases are timed by it, so that the nodes' clocks need not agree.
constexpr const char *kNow = "(extract(epoch from clock_timestamp()) * 1000000)::bigint";

// How long one call may hold the main loop. The server gives up on a
// statement after kStatementTimeoutMs (statement_timeout); the node gives
// up on the server a second later and drops the connection: a database
// that does not answer at all (a network that drops everything, a frozen
// host) costs at most that, once, and later calls fail at once until the
// store has connected again (in the background, without blocking).
constexpr int kStatementTimeoutMs = 5000;
constexpr int kCallTimeoutMs = kStatementTimeoutMs + 1000;
constexpr int kConnectTimeoutSeconds = 5;

// Waits until `fd` is ready for `events` or the monotonic `deadline` has
// passed (false then).
bool wait_for_socket(int fd, short events, gint64 deadline) {
  for (;;) {
    const gint64 left = deadline - g_get_monotonic_time();
    if (left <= 0) return false;
    pollfd ready{fd, events, 0};
    const int count = poll(&ready, 1, static_cast<int>((left + 999) / 1000));
    if (count > 0 || (count < 0 && errno != EINTR)) return true;  // an error: libpq will say which
  }
}

std::string trimmed(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

std::string text(std::int64_t number) { return std::to_string(number); }

std::string text(double number) {
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  return g_ascii_dtostr(buffer, sizeof buffer, number);
}

std::optional<std::string> text_or_null(std::int64_t number) {
  if (number <= 0) return std::nullopt;
  return text(number);
}

// "PostgreSQL dbname on host:port", from what libpq will use (its PG*
// variables and defaults included), never the password.
std::string describe(PQconninfoOption *options) {
  std::string database, host, port;
  for (PQconninfoOption *option = options; option && option->keyword; ++option) {
    const std::string keyword = option->keyword;
    const std::string value = option->val ? option->val : "";
    if (keyword == "dbname") database = value;
    if (keyword == "host" || (keyword == "hostaddr" && host.empty())) host = value;
    if (keyword == "port") port = value;
  }
  std::string where = host.empty() ? "the default socket" : host;
  if (!port.empty()) where += " port " + port;
  return "PostgreSQL " + (database.empty() ? std::string("(default database)") : database) + " on " + where;
}

}  // namespace

// A query's result, cleared when it goes out of scope.
class PostgresJobStore::Result {
 public:
  explicit Result(PGresult *result) : result_(result) {}
  ~Result() { PQclear(result_); }
  Result(Result &&other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  Result(const Result &) = delete;
  Result &operator=(const Result &) = delete;

  ExecStatusType status() const { return PQresultStatus(result_); }
  std::string error() const {
    std::string message = PQresultErrorMessage(result_);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return message;
  }
  int rows() const { return PQntuples(result_); }
  int affected() const { return std::atoi(PQcmdTuples(result_)); }
  std::string text(int row, int column) const { return PQgetvalue(result_, row, column); }
  bool null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
  std::int64_t number(int row, int column) const {
    return null(row, column) ? 0 : g_ascii_strtoll(PQgetvalue(result_, row, column), nullptr, 10);
  }
  double real(int row, int column) const { return g_ascii_strtod(PQgetvalue(result_, row, column), nullptr); }

 private:
  PGresult *result_;
};

PostgresJobStore::PostgresJobStore(const std::string &url, const std::string &node) : node_(node) {
  char *parse_error = nullptr;
  PQconninfoOption *parsed = PQconninfoParse(url.c_str(), &parse_error);
  if (parsed == nullptr) {
    const std::string why = parse_error ? parse_error : "out of memory";
    PQfreemem(parse_error);
    throw JobStoreError("cannot read the database URL: " + why);
  }
  PQconninfoFree(parsed);
  // Ours come before the URL, which may override them, except the name the
  // node has in the database (the NOTIFY payloads carry it).
  // (NOTICEs, such as "already exists, skipping", stay out of the log.)
  // Every wait is bounded: the connection (connect_timeout), a peer gone
  // silent on an idle connection (keepalives: ~19 s) or with data unacknowledged
  // (tcp_user_timeout), a statement (statement_timeout, and kCallTimeoutMs
  // on this side), a transaction left open (idle_in_transaction_session_timeout).
  values_ = {std::to_string(kConnectTimeoutSeconds), "1", "10", "3", "3", std::to_string(kCallTimeoutMs),
             "-c client_min_messages=warning -c statement_timeout=" + std::to_string(kStatementTimeoutMs) +
                 " -c idle_in_transaction_session_timeout=" + std::to_string(2 * kCallTimeoutMs),
             url, node, "demucs-vocalsd"};
  keywords_ = {"connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
               "tcp_user_timeout", "options", "dbname", "application_name", "fallback_application_name", nullptr};
  std::vector<const char *> values;
  for (const std::string &value : values_) values.push_back(value.c_str());
  values.push_back(nullptr);
  // What will be used, for the description: the URL with the PG* variables.
  PGconn *probe = PQconnectStartParams(keywords_.data(), values.data(), 1);
  PQconninfoOption *used = probe ? PQconninfo(probe) : nullptr;
  description_ = describe(used);
  PQconninfoFree(used);
  PQfinish(probe);
  try_connect(true);
}

PostgresJobStore::~PostgresJobStore() {
  for (guint *source : {&socket_source_, &reconnect_source_, &deliver_source_, &connecting_source_,
                        &connecting_timeout_})
    if (*source) g_source_remove(*source);
  PQfinish(connecting_);
  PQfinish(connection_);
}

// At start: a blocking connection (bounded by connect_timeout), so that a
// server that refuses can stop the daemon with the reason.
bool PostgresJobStore::try_connect(bool at_start) const {
  std::vector<const char *> values;
  for (const std::string &value : values_) values.push_back(value.c_str());
  values.push_back(nullptr);
  PGconn *connection = PQconnectdbParams(keywords_.data(), values.data(), 1);
  return use_connection(connection, at_start);
}

// A connection attempt failed: try again later. A server that answers and
// refuses (no such database, a wrong password) will refuse again: at start
// that is the operator's to fix (JobStoreError).
void PostgresJobStore::connection_failed(const std::string &why, bool at_start) const {
  const bool refused = why.find("FATAL") != std::string::npos &&
                       why.find("the database system is") == std::string::npos;  // starting up / shutting down
  if (at_start && refused) throw JobStoreError(description_ + ": " + why);
  if (last_error_ != why) daemon_log("job database %s unreachable: %s", description_.c_str(), why.c_str());
  last_error_ = why;
  schedule_reconnect();
}

// Takes a connection attempt that has ended (well or not): on success,
// makes the schema, listens, and watches the socket.
bool PostgresJobStore::use_connection(PGconn *connection, bool at_start) const {
  if (connection == nullptr || PQstatus(connection) != CONNECTION_OK) {
    std::string why = connection ? trimmed(PQerrorMessage(connection)) : "out of memory";
    if (why.empty()) why = "no answer within " + std::to_string(kConnectTimeoutSeconds) + " s";
    PQfinish(connection);
    connection_failed(why, at_start);
    return false;
  }
  connection_ = connection;
  PQsetnonblocking(connection_, 1);  // sends never block: each call's wait is ours (await_result)
  try {
    make_schema();
    run((std::string("LISTEN ") + kChannel).c_str());
  } catch (const JobStoreError &error) {
    if (at_start && connection_ != nullptr) throw;  // the server refused the schema
    if (connection_ == nullptr) return false;       // lost again, already rescheduled
    lose_connection(error.what());
    return false;
  }
  socket_source_ = g_unix_fd_add(PQsocket(connection_), G_IO_IN, on_socket_readable, const_cast<PostgresJobStore *>(this));
  reconnect_delay_ms_ = 250;
  if (!at_start) {
    daemon_log("job database %s: connected again", description_.c_str());
    connection_events_.push_back(true);
    deliver_later();
  }
  last_error_.clear();
  return true;
}

void PostgresJobStore::make_schema() const {
  run("BEGIN");
  try {
    run((std::string("SELECT pg_advisory_xact_lock(") + kSchemaLockKey + ")").c_str());
    run("CREATE TABLE IF NOT EXISTS demucs_schema (version integer PRIMARY KEY, "
        "applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL)");
    const Result found = run("SELECT coalesce(max(version), 0) FROM demucs_schema");
    const std::int64_t version = found.number(0, 0);
    for (const SchemaStep &step : kSchemaSteps) {
      if (step.version <= version) continue;
      run_script(step.sql);
      run("INSERT INTO demucs_schema (version, applied_by) VALUES ($1, $2)", {text(std::int64_t{step.version}), node_});
      daemon_log("job database %s: schema version %d made", description_.c_str(), step.version);
    }
    run("COMMIT");
  } catch (const JobStoreError &) {
    if (connection_ != nullptr) {
      try {
        run("ROLLBACK");
      } catch (const JobStoreError &) {
      }
    }
    throw;
  }
}

void PostgresJobStore::lose_connection(const std::string &why) const {
  if (connection_ == nullptr) return;
  daemon_log("job database %s: connection lost (%s); connecting again in the background", description_.c_str(),
             why.c_str());
  if (socket_source_) g_source_remove(socket_source_);
  socket_source_ = 0;
  PQfinish(connection_);
  connection_ = nullptr;
  last_error_ = why;
  reconnect_delay_ms_ = 250;
  connection_events_.push_back(false);
  deliver_later();
  schedule_reconnect();
}

void PostgresJobStore::schedule_reconnect() const {
  if (reconnect_source_) return;
  reconnect_source_ = g_timeout_add(static_cast<guint>(reconnect_delay_ms_), on_reconnect,
                                    const_cast<PostgresJobStore *>(this));
  reconnect_delay_ms_ = std::min(reconnect_delay_ms_ * 2, 4000);
}

gboolean PostgresJobStore::on_reconnect(gpointer data) {
  auto *self = static_cast<PostgresJobStore *>(data);
  self->reconnect_source_ = 0;
  if (self->connection_ == nullptr && self->connecting_ == nullptr) self->start_connecting();
  return G_SOURCE_REMOVE;
}

// Later connections: without blocking, PQconnectPoll driven from the main
// loop whenever the socket is ready for what it asked, given up after
// kConnectTimeoutSeconds.
void PostgresJobStore::start_connecting() const {
  std::vector<const char *> values;
  for (const std::string &value : values_) values.push_back(value.c_str());
  values.push_back(nullptr);
  connecting_ = PQconnectStartParams(keywords_.data(), values.data(), 1);
  if (connecting_ == nullptr || PQstatus(connecting_) == CONNECTION_BAD) {
    PGconn *failed = connecting_;
    connecting_ = nullptr;
    use_connection(failed, false);
    return;
  }
  auto *self = const_cast<PostgresJobStore *>(this);
  connecting_timeout_ = g_timeout_add_seconds(kConnectTimeoutSeconds, on_connecting_timeout, self);
  poll_connecting(PGRES_POLLING_WRITING);
}

void PostgresJobStore::poll_connecting(PostgresPollingStatusType wanted) const {
  auto *self = const_cast<PostgresJobStore *>(this);
  const GIOCondition condition = wanted == PGRES_POLLING_READING ? G_IO_IN : G_IO_OUT;
  connecting_source_ = g_unix_fd_add(PQsocket(connecting_), static_cast<GIOCondition>(condition | G_IO_ERR | G_IO_HUP),
                                     on_connecting_ready, self);
}

gboolean PostgresJobStore::on_connecting_ready(gint, GIOCondition, gpointer data) {
  auto *self = static_cast<PostgresJobStore *>(data);
  self->connecting_source_ = 0;
  const PostgresPollingStatusType status = PQconnectPoll(self->connecting_);
  if (status == PGRES_POLLING_READING || status == PGRES_POLLING_WRITING) {
    self->poll_connecting(status);  // the socket may have changed (another address)
    return G_SOURCE_REMOVE;
  }
  self->finish_connecting();
  return G_SOURCE_REMOVE;
}

gboolean PostgresJobStore::on_connecting_timeout(gpointer data) {
  auto *self = static_cast<PostgresJobStore *>(data);
  self->connecting_timeout_ = 0;
  if (self->connecting_source_) g_source_remove(self->connecting_source_);
  self->connecting_source_ = 0;
  PQfinish(self->connecting_);
  self->connecting_ = nullptr;
  self->connection_failed("no answer within " + std::to_string(kConnectTimeoutSeconds) + " s", false);
  return G_SOURCE_REMOVE;
}

void PostgresJobStore::finish_connecting() const {
  if (connecting_timeout_) g_source_remove(connecting_timeout_);
  connecting_timeout_ = 0;
  PGconn *connection = connecting_;
  connecting_ = nullptr;
  use_connection(connection, false);
}

// Takes the results of the statement just sent, within kCallTimeoutMs:
// the first error, else the last result (nullptr when the connection
// broke: the caller finds out). A server that does not answer in time
// loses its connection; the statement may or may not have run, and each
// write here is one statement, so it ran whole or not at all.
PostgresJobStore::Result PostgresJobStore::await_result() const {
  const gint64 deadline = g_get_monotonic_time() + gint64{kCallTimeoutMs} * 1000;
  const int fd = PQsocket(connection_);
  bool in_time = true;
  for (int flushed; in_time && (flushed = PQflush(connection_)) != 0;) {
    if (flushed < 0) return Result(nullptr);
    in_time = wait_for_socket(fd, POLLIN | POLLOUT, deadline);
    if (in_time && !PQconsumeInput(connection_)) return Result(nullptr);
  }
  PGresult *kept = nullptr;
  while (in_time) {
    if (PQisBusy(connection_)) {
      in_time = wait_for_socket(fd, POLLIN, deadline);
      if (in_time && !PQconsumeInput(connection_)) return Result(kept);
      continue;
    }
    PGresult *next = PQgetResult(connection_);
    if (next == nullptr) return Result(kept);
    const auto failed = [](PGresult *result) {
      return PQresultStatus(result) != PGRES_COMMAND_OK && PQresultStatus(result) != PGRES_TUPLES_OK;
    };
    if (kept != nullptr && failed(kept)) {
      PQclear(next);  // an earlier error stands
      continue;
    }
    PQclear(kept);
    kept = next;
  }
  PQclear(kept);
  const std::string why = "no answer within " + std::to_string(kCallTimeoutMs / 1000) + " s";
  lose_connection(why);
  throw JobStoreError("the job database is unavailable (" + description_ + ": " + why + "); connecting again");
}

PostgresJobStore::Result PostgresJobStore::checked(Result result) const {
  if (result.status() == PGRES_COMMAND_OK || result.status() == PGRES_TUPLES_OK) {
    take_notifications();
    return result;
  }
  if (connection_ == nullptr || PQstatus(connection_) == CONNECTION_BAD) {
    std::string why = connection_ ? trimmed(PQerrorMessage(connection_)) : last_error_;
    if (why.empty()) why = "the connection broke";
    lose_connection(why);
    throw JobStoreError("the job database is unavailable (" + description_ + ": " + why + "); connecting again");
  }
  const std::string message = result.error().empty() ? trimmed(PQerrorMessage(connection_)) : result.error();
  throw JobStoreError("job database " + description_ + ": " + message);
}

void PostgresJobStore::require_connection() const {
  if (connection_ == nullptr)
    throw JobStoreError("the job database is unavailable (" + description_ + ": " + last_error_ +
                        "); connecting again");
}

PostgresJobStore::Result PostgresJobStore::run(const char *sql, const Parameters &parameters) const {
  require_connection();
  std::vector<const char *> values;
  for (const std::optional<std::string> &parameter : parameters)
    values.push_back(parameter ? parameter->c_str() : nullptr);
  if (!PQsendQueryParams(connection_, sql, static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr,
                         0))
    return checked(Result(nullptr));
  return checked(await_result());
}

void PostgresJobStore::run_script(const char *sql) const {
  require_connection();
  if (!PQsendQuery(connection_, sql)) {  // several statements: no parameters
    checked(Result(nullptr));
    return;
  }
  checked(await_result());
}

std::vector<Job> PostgresJobStore::run_for_jobs(const char *sql, const Parameters &parameters) const {
  const Result result = run(sql, parameters);
  std::vector<Job> jobs;
  for (int row = 0; row < result.rows(); ++row) {
    Job job;
    job.sequence = result.number(row, 0);
    job.id = result.text(row, 1);
    job.filename = result.text(row, 2);
    job.stem = result.text(row, 3);
    job.format = result.text(row, 4);
    job.status = job_status_from_name(result.text(row, 5)).value_or(JobStatus::error);
    job.progress = result.real(row, 6);
    job.error_message = result.text(row, 7);
    job.created_at = result.number(row, 8);
    job.input_path = result.text(row, 9);
    job.output_path = result.text(row, 10);
    job.finished_at = result.number(row, 11);
    job.owner = result.text(row, 12);
    job.lease_until = result.number(row, 13);
    job.attempts = static_cast<int>(result.number(row, 14));
    jobs.push_back(std::move(job));
  }
  return jobs;
}

void PostgresJobStore::insert(Job &job) {
  const Result result =
      run("INSERT INTO demucs_jobs (id, filename, stem, format, status, progress, error_message, created_at, "
          "input_path, output_path) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING sequence",
          {job.id, job.filename, job.stem, job.format, std::string(job_status_name(job.status)), text(job.progress),
           job.error_message, text(job.created_at), job.input_path, job.output_path});
  job.sequence = result.number(0, 0);
}

std::optional<Job> PostgresJobStore::find(const std::string &id) const {
  std::vector<Job> jobs = run_for_jobs((std::string("SELECT ") + kColumns + " FROM demucs_jobs WHERE id = $1").c_str(), {id});
  if (jobs.empty()) return std::nullopt;
  return std::move(jobs.front());
}

std::vector<Job> PostgresJobStore::recent(int limit) const {
  return run_for_jobs((std::string("SELECT ") + kColumns + " FROM demucs_jobs ORDER BY sequence DESC LIMIT $1").c_str(),
                      {text(std::int64_t{limit})});
}

std::vector<std::string> PostgresJobStore::ids() const {
  const Result result = run("SELECT id FROM demucs_jobs");
  std::vector<std::string> ids;
  for (int row = 0; row < result.rows(); ++row) ids.push_back(result.text(row, 0));
  return ids;
}

int PostgresJobStore::pending_count() const {
  return static_cast<int>(run("SELECT count(*) FROM demucs_jobs WHERE status = 'pending'").number(0, 0));
}

std::optional<int> PostgresJobStore::queue_position(const std::string &id) const {
  const Result result = run(
      "SELECT count(*) FROM demucs_jobs AS waiting, demucs_jobs AS job WHERE job.id = $1 AND job.status = 'pending' "
      "AND waiting.status = 'pending' AND waiting.sequence <= job.sequence",
      {id});
  const int position = static_cast<int>(result.number(0, 0));
  if (position == 0) return std::nullopt;
  return position;
}

// One statement, so one transaction: the row is locked by the inner SELECT
// (rows other claims have locked are skipped, not waited for) and taken by
// the UPDATE.
std::optional<Job> PostgresJobStore::claim_next(const std::string &node, int lease_seconds) {
  const std::string sql = std::string("UPDATE demucs_jobs SET status = 'processing', progress = 0, error_message = '', "
                                      "owner = $1, lease_until = ") +
                          kNow + " + $2::bigint * 1000000, attempts = attempts + 1 "
                          "WHERE sequence = (SELECT sequence FROM demucs_jobs WHERE status = 'pending' "
                          "ORDER BY sequence LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING " +
                          kColumns;
  std::vector<Job> claimed = run_for_jobs(sql.c_str(), {node, text(std::int64_t{lease_seconds})});
  if (claimed.empty()) return std::nullopt;
  return std::move(claimed.front());
}

std::vector<std::string> PostgresJobStore::renew_leases(const std::string &node, const std::vector<std::string> &ids,
                                                        int lease_seconds) {
  if (ids.empty()) return {};
  // The ids as a PostgreSQL array literal: {"a","b"} (ids are UUIDs, but
  // quote them anyway).
  std::string array = "{";
  for (const std::string &id : ids) {
    if (array.size() > 1) array += ',';
    array += '"';
    for (char c : id) {
      if (c == '"' || c == '\\') array += '\\';
      array += c;
    }
    array += '"';
  }
  array += '}';
  const std::string sql = std::string("UPDATE demucs_jobs SET lease_until = ") + kNow +
                          " + $3::bigint * 1000000 WHERE id = ANY($2::text[]) AND owner = $1 AND "
                          "status = 'processing' RETURNING id";
  const Result result = run(sql.c_str(), {node, array, text(std::int64_t{lease_seconds})});
  std::vector<std::string> lost = ids;
  for (int row = 0; row < result.rows(); ++row) lost.erase(std::remove(lost.begin(), lost.end(), result.text(row, 0)), lost.end());
  return lost;
}

bool PostgresJobStore::update_state(const Job &job, const std::string &node) {
  const Result result = run(
      "UPDATE demucs_jobs SET status = $1, progress = $2, error_message = $3, finished_at = $5, output_path = $7, "
      "owner = CASE WHEN $1 = 'processing' THEN owner END, "
      "lease_until = CASE WHEN $1 = 'processing' THEN lease_until END "
      "WHERE id = $4 AND owner = $6 AND status = 'processing'",
      {std::string(job_status_name(job.status)), text(job.progress), job.error_message, job.id,
       text_or_null(job.finished_at), node, job.output_path});
  return result.affected() > 0;
}

bool PostgresJobStore::release(const std::string &id, const std::string &node) {
  const Result result = run(
      "UPDATE demucs_jobs SET status = 'pending', progress = 0, owner = NULL, lease_until = NULL "
      "WHERE id = $1 AND owner = $2 AND status = 'processing'",
      {id, node});
  return result.affected() > 0;
}

int PostgresJobStore::requeue_expired(bool every_one) {
  const std::string sql =
      std::string("UPDATE demucs_jobs SET status = 'pending', progress = 0, owner = NULL, lease_until = NULL "
                  "WHERE status = 'processing'") +
      (every_one ? "" : std::string(" AND (lease_until IS NULL OR lease_until < ") + kNow + ")");
  return run(sql.c_str()).affected();
}

std::optional<Job> PostgresJobStore::remove(const std::string &id) {
  std::vector<Job> removed =
      run_for_jobs((std::string("DELETE FROM demucs_jobs WHERE id = $1 RETURNING ") + kColumns).c_str(), {id});
  if (removed.empty()) return std::nullopt;
  return std::move(removed.front());
}

std::vector<Job> PostgresJobStore::remove_finished_before(std::int64_t unix_microseconds) {
  return run_for_jobs((std::string("DELETE FROM demucs_jobs WHERE status IN ('completed', 'error') AND "
                                   "finished_at < $1 RETURNING ") +
                       kColumns)
                          .c_str(),
                      {text(unix_microseconds)});
}

void PostgresJobStore::announce_node(const std::string &node, bool able, int lease_seconds) {
  const std::string sql = std::string("INSERT INTO demucs_nodes (name, able, seen_until) VALUES ($1, $2, ") + kNow +
                          " + $3::bigint * 1000000) ON CONFLICT (name) DO UPDATE SET able = EXCLUDED.able, "
                          "seen_until = EXCLUDED.seen_until";
  run(sql.c_str(), {node, able ? "true" : "false", text(std::int64_t{lease_seconds})});
}

int PostgresJobStore::other_able_nodes(const std::string &node) const {
  const std::string sql =
      std::string("SELECT count(*) FROM demucs_nodes WHERE able AND name <> $1 AND seen_until > ") + kNow;
  return static_cast<int>(run(sql.c_str(), {node}).number(0, 0));
}

// Notifications come with query results and, between queries, on the
// socket; either way they are delivered from the main loop, never from
// inside a call into the store.
void PostgresJobStore::take_notifications() const {
  if (connection_ == nullptr) return;
  bool any = false;
  while (PGnotify *notification = PQnotifies(connection_)) {
    g_autoptr(JsonParser) parser = json_parser_new();
    if (json_parser_load_from_data(parser, notification->extra, -1, nullptr) &&
        JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
      JsonObject *object = json_node_get_object(json_parser_get_root(parser));
      JobChange change;
      change.id = json_object_get_string_member_with_default(object, "id", "");
      change.deleted = json_object_get_boolean_member_with_default(object, "deleted", FALSE);
      if (!change.deleted)
        change.status = job_status_from_name(json_object_get_string_member_with_default(object, "status", ""));
      change.progress = json_object_get_double_member_with_default(object, "progress", 0.0);
      const std::string from = json_object_get_string_member_with_default(object, "node", "");
      if (from != node_ && !change.id.empty()) {
        changes_.push_back(std::move(change));
        any = true;
      }
    }
    PQfreemem(notification);
  }
  if (any) deliver_later();
}

gboolean PostgresJobStore::on_socket_readable(gint, GIOCondition, gpointer data) {
  auto *self = static_cast<PostgresJobStore *>(data);
  if (self->connection_ == nullptr) {
    self->socket_source_ = 0;
    return G_SOURCE_REMOVE;
  }
  if (!PQconsumeInput(self->connection_) || PQstatus(self->connection_) == CONNECTION_BAD) {
    std::string why = PQerrorMessage(self->connection_);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    self->socket_source_ = 0;  // removed by returning G_SOURCE_REMOVE
    self->lose_connection(why.empty() ? "the server closed the connection" : why);
    return G_SOURCE_REMOVE;
  }
  self->take_notifications();
  return G_SOURCE_CONTINUE;
}

void PostgresJobStore::deliver_later() const {
  if (deliver_source_ == 0) deliver_source_ = g_idle_add(on_deliver, const_cast<PostgresJobStore *>(this));
}

gboolean PostgresJobStore::on_deliver(gpointer data) {
  auto *self = static_cast<PostgresJobStore *>(data);
  self->deliver_source_ = 0;
  std::vector<bool> connection_events;
  std::swap(connection_events, self->connection_events_);
  std::vector<JobChange> changes;
  std::swap(changes, self->changes_);
  for (bool connected : connection_events)
    for (const ConnectionListener &listener : self->connection_listeners_) listener(connected);
  for (const JobChange &change : changes)
    for (const ChangeListener &listener : self->change_listeners_) listener(change);
  return G_SOURCE_REMOVE;
}

}  // namespace demucs
