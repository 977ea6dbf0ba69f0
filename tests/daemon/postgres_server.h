// A throwaway PostgreSQL 15 for a test program: initdb and pg_ctl (Debian's
// postgresql-15, /usr/lib/postgresql/15/bin, or DEMUCS_TEST_PG_BIN) make a
// cluster in a temporary folder that listens on a Unix socket in that
// folder only, with trust authentication for a superuser "demucs"; as root,
// the server runs as the "postgres" user (PostgreSQL refuses root). It is
// stopped and removed when the object goes.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace demucs::testing {

class PostgresServer {
 public:
  /// Makes and starts the cluster; when that fails, ok() is false and
  /// problem() says why (the binaries missing, for one).
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer &) = delete;
  PostgresServer &operator=(const PostgresServer &) = delete;

  /// One server for the whole test program, started on first use.
  static PostgresServer &shared();

  bool ok() const { return problem_.empty(); }
  const std::string &problem() const { return problem_; }

  /// A new, empty database; returns its URL for --database.
  std::string create_database(const std::string &name);
  /// postgresql:///NAME?host=SOCKET_FOLDER&port=5432&user=demucs
  std::string url(const std::string &database) const;

  /// Stops the server (fast: open connections are cut), and starts it again.
  bool stop();
  bool start();

  /// Runs `sql` in `database`; the first column of the first row ("" when
  /// none). Fails the test on an error.
  std::string query(const std::string &database, const std::string &sql) const;

  /// The server's Unix socket (for a proxy to it).
  std::string socket_path() const;
  /// postgresql://demucs@127.0.0.1:PORT/NAME: `database` through a TCP proxy on `port`.
  std::string tcp_url(int port, const std::string &database) const;

 private:
  bool run(const std::vector<std::string> &arguments, std::string &output) const;
  std::string binary(const char *name) const;

  std::string folder_;
  std::string bin_;
  std::string problem_;
  bool as_postgres_user_ = false;
};

/// A TCP proxy on 127.0.0.1 to a Unix socket (the test server's), for a
/// database that stops answering: after blackhole() it forwards nothing
/// more, in either direction, and leaves every connection open, new ones
/// included; as a network that drops every packet looks to the daemon,
/// except that the kernel still acknowledges what the daemon sends.
class BlackholeProxy {
 public:
  explicit BlackholeProxy(std::string unix_socket);
  /// Stops its threads and closes every connection.
  ~BlackholeProxy();
  BlackholeProxy(const BlackholeProxy &) = delete;
  BlackholeProxy &operator=(const BlackholeProxy &) = delete;

  /// The port it listens on (0 if it could not listen).
  int port() const { return port_; }
  void blackhole() { blackholed_ = true; }

 private:
  void accept_connections();
  void forward(int from, int to);

  std::string unix_socket_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> blackholed_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<int> sockets_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace demucs::testing
