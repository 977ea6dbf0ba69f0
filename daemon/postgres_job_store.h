// The job store in a PostgreSQL database that several daemons ("nodes")
// share: one queue, claimed with SELECT ... FOR UPDATE SKIP LOCKED; leases
// timed by the database's clock; every change to a job announced to the
// other nodes with NOTIFY (a trigger on the table, so that no write can
// forget it); the schema made and migrated under an advisory lock, so that
// nodes starting at once make it once.
//
// One connection per node, used from the main loop, every call bounded: a
// statement by the server's statement_timeout (5 s) and by this side's
// wait (6 s, then the connection is dropped), the connection at start by
// connect_timeout (5 s); TCP keepalives and tcp_user_timeout find a peer
// gone silent. When the connection is lost, calls fail at once with
// JobStoreError ("unavailable") instead of waiting, and the store connects
// again in the background without blocking (PQconnectPoll from the main
// loop), every 0.25 s at first and every 4 s at most; the listeners hear of
// both changes. So a database that stops answering holds the main loop for
// at most 6 s once, plus up to 6 s for each statement of the schema check
// and LISTEN if it stops again right after a reconnection.
#pragma once

#include "job_store.h"

#include <glib.h>
#include <libpq-fe.h>

#include <vector>

namespace demucs {

class PostgresJobStore final : public JobStore {
 public:
  /// `url`: "postgresql://..." (libpq's PG* environment variables fill in
  /// what it leaves out). Throws JobStoreError when it cannot be parsed, or
  /// when the server answers but refuses (a wrong password, no such
  /// database, a schema it cannot make); an unreachable server is not an
  /// error here: the store keeps trying.
  PostgresJobStore(const std::string &url, const std::string &node);
  ~PostgresJobStore() override;
  PostgresJobStore(const PostgresJobStore &) = delete;
  PostgresJobStore &operator=(const PostgresJobStore &) = delete;

  std::string description() const override { return description_; }
  const char *kind() const override { return "postgresql"; }
  bool shared() const override { return true; }
  bool connected() const override { return connection_ != nullptr; }
  std::string last_error() const override { return last_error_; }

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

  void announce_node(const std::string &node, bool able, int lease_seconds) override;
  int other_able_nodes(const std::string &node) const override;

  void on_change(ChangeListener listener) override { change_listeners_.push_back(std::move(listener)); }
  void on_connection(ConnectionListener listener) override { connection_listeners_.push_back(std::move(listener)); }

 private:
  class Result;
  using Parameters = std::vector<std::optional<std::string>>;

  /// Runs one statement (its own transaction); throws JobStoreError.
  Result run(const char *sql, const Parameters &parameters = {}) const;
  /// Runs several statements without parameters (the schema).
  void run_script(const char *sql) const;
  std::vector<Job> run_for_jobs(const char *sql, const Parameters &parameters = {}) const;
  bool try_connect(bool at_start) const;
  bool use_connection(PGconn *connection, bool at_start) const;
  void connection_failed(const std::string &why, bool at_start) const;
  void start_connecting() const;
  void poll_connecting(PostgresPollingStatusType wanted) const;
  void finish_connecting() const;
  static gboolean on_connecting_ready(gint fd, GIOCondition condition, gpointer self);
  static gboolean on_connecting_timeout(gpointer self);
  Result await_result() const;
  Result checked(Result result) const;
  void require_connection() const;
  void make_schema() const;
  void lose_connection(const std::string &why) const;
  void schedule_reconnect() const;
  void take_notifications() const;
  void deliver_later() const;
  static gboolean on_socket_readable(gint fd, GIOCondition condition, gpointer self);
  static gboolean on_reconnect(gpointer self);
  static gboolean on_deliver(gpointer self);

  std::vector<const char *> keywords_;
  std::vector<std::string> values_;
  std::string node_;
  std::string description_;

  // The connection and what depends on it: `mutable`, because reading a
  // job may find the connection lost (or take a notification).
  mutable PGconn *connection_ = nullptr;
  mutable PGconn *connecting_ = nullptr;  // a connection being made in the background
  mutable guint connecting_source_ = 0;
  mutable guint connecting_timeout_ = 0;
  mutable std::string last_error_;
  mutable guint socket_source_ = 0;
  mutable guint reconnect_source_ = 0;
  mutable guint deliver_source_ = 0;
  mutable int reconnect_delay_ms_ = 250;
  mutable std::vector<JobChange> changes_;
  mutable std::vector<bool> connection_events_;
  std::vector<ChangeListener> change_listeners_;
  std::vector<ConnectionListener> connection_listeners_;
};

}  // namespace demucs
