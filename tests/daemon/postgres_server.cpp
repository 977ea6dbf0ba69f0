#include "postgres_server.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <memory>

namespace demucs::testing {

namespace {

constexpr const char *kSuperuser = "demucs";
constexpr const char *kPort = "5432";  // names the socket file in our own folder: no clash

}  // namespace

PostgresServer &PostgresServer::shared() {
  static PostgresServer server;
  return server;
}

std::string PostgresServer::binary(const char *name) const { return bin_ + "/" + name; }

bool PostgresServer::run(const std::vector<std::string> &arguments, std::string &output) const {
  std::vector<std::string> command;
  if (as_postgres_user_) command = {"runuser", "-u", "postgres", "--"};
  command.insert(command.end(), arguments.begin(), arguments.end());
  std::vector<char *> argv;
  for (std::string &argument : command) argv.push_back(argument.data());
  argv.push_back(nullptr);
  g_autofree gchar *out = nullptr;
  gint status = 0;
  g_autoptr(GError) error = nullptr;
  const bool spawned = g_spawn_sync(folder_.c_str(), argv.data(), nullptr,
                                    static_cast<GSpawnFlags>(G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL),
                                    nullptr, nullptr, &out, nullptr, &status, &error);
  output = out ? out : "";
  if (!spawned) {
    output = error->message;
    return false;
  }
  return g_spawn_check_wait_status(status, nullptr);
}

PostgresServer::PostgresServer() {
  const char *bin = g_getenv("DEMUCS_TEST_PG_BIN");
  bin_ = bin ? bin : "/usr/lib/postgresql/15/bin";
  if (!g_file_test(binary("initdb").c_str(), G_FILE_TEST_IS_EXECUTABLE)) {
    problem_ = "no PostgreSQL 15 in " + bin_ + " (install postgresql-15: scripts/install-deps.sh --tests)";
    return;
  }
  g_autofree gchar *folder = g_dir_make_tmp("demucs-postgres-XXXXXX", nullptr);
  folder_ = folder;
  if (geteuid() == 0) {
    const passwd *postgres = getpwnam("postgres");
    if (postgres == nullptr) {
      problem_ = "running as root, and there is no \"postgres\" user to run PostgreSQL as";
      return;
    }
    if (chown(folder_.c_str(), postgres->pw_uid, postgres->pw_gid) != 0) {
      problem_ = "cannot give " + folder_ + " to the postgres user";
      return;
    }
    as_postgres_user_ = true;
  }
  std::string output;
  if (!run({binary("initdb"), "--pgdata", folder_ + "/data", "--username", kSuperuser, "--auth", "trust",
            "--encoding", "UTF8", "--locale", "C", "--no-sync"},
           output)) {
    problem_ = "initdb failed: " + output;
    return;
  }
  if (!start()) problem_ = "the test PostgreSQL did not start; its log: " + folder_ + "/server.log";
}

PostgresServer::~PostgresServer() {
  if (folder_.empty()) return;
  std::string output;
  if (g_file_test((folder_ + "/data/postmaster.pid").c_str(), G_FILE_TEST_EXISTS))
    run({binary("pg_ctl"), "stop", "--pgdata", folder_ + "/data", "--mode", "immediate", "--wait"}, output);
  run({"rm", "-rf", folder_}, output);
  g_rmdir(folder_.c_str());
}

bool PostgresServer::start() {
  std::string output;
  // Only the Unix socket in our folder; no durability needed for a test.
  const std::string server_options =
      "-c listen_addresses= -k " + folder_ + " -p " + kPort + " -c fsync=off -c synchronous_commit=off " +
      "-c full_page_writes=off -c max_connections=200";
  return run({binary("pg_ctl"), "start", "--pgdata", folder_ + "/data", "--log", folder_ + "/server.log",
              "--options", server_options, "--wait", "--timeout", "60"},
             output);
}

bool PostgresServer::stop() {
  std::string output;
  return run({binary("pg_ctl"), "stop", "--pgdata", folder_ + "/data", "--mode", "fast", "--wait"}, output);
}

std::string PostgresServer::url(const std::string &database) const {
  return "postgresql:///" + database + "?host=" + folder_ + "&port=" + kPort + "&user=" + kSuperuser;
}

std::string PostgresServer::query(const std::string &database, const std::string &sql) const {
  std::unique_ptr<PGconn, decltype(&PQfinish)> connection(PQconnectdb(url(database).c_str()), PQfinish);
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    ADD_FAILURE() << "cannot connect to the test PostgreSQL: " << PQerrorMessage(connection.get());
    return "";
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(connection.get(), sql.c_str()), PQclear);
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    ADD_FAILURE() << sql << ": " << PQresultErrorMessage(result.get());
    return "";
  }
  if (status != PGRES_TUPLES_OK || PQntuples(result.get()) == 0 || PQnfields(result.get()) == 0) return "";
  return PQgetvalue(result.get(), 0, 0);
}

std::string PostgresServer::socket_path() const { return folder_ + "/.s.PGSQL." + kPort; }

std::string PostgresServer::tcp_url(int port, const std::string &database) const {
  return std::string("postgresql://") + kSuperuser + "@127.0.0.1:" + std::to_string(port) + "/" + database;
}

BlackholeProxy::BlackholeProxy(std::string unix_socket) : unix_socket_(std::move(unix_socket)) {
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0 ||
      listen(listener_, 64) != 0 || getsockname(listener_, reinterpret_cast<sockaddr *>(&address), &length) != 0)
    return;
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_connections(); });
}

BlackholeProxy::~BlackholeProxy() {
  stopping_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  for (std::thread &thread : threads_) thread.join();
  for (int fd : sockets_) close(fd);
  if (listener_ >= 0) close(listener_);
}

// Each connection from the daemon gets one to the server, and a thread each
// way; every wait is short, so that the destructor is heard.
void BlackholeProxy::accept_connections() {
  while (!stopping_) {
    pollfd ready{listener_, POLLIN, 0};
    if (poll(&ready, 1, 100) <= 0) continue;
    const int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int server = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, unix_socket_.c_str(), sizeof address.sun_path - 1);
    std::lock_guard<std::mutex> lock(mutex_);
    if (server < 0 || connect(server, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
      if (server >= 0) close(server);
      sockets_.push_back(client);  // open, unanswered
      continue;
    }
    sockets_.push_back(client);
    sockets_.push_back(server);
    threads_.emplace_back([this, client, server] { forward(client, server); });
    threads_.emplace_back([this, client, server] { forward(server, client); });
  }
}

void BlackholeProxy::forward(int from, int to) {
  char buffer[16384];
  while (!stopping_) {
    if (blackholed_) {
      usleep(50000);
      continue;
    }
    pollfd ready{from, POLLIN, 0};
    if (poll(&ready, 1, 50) <= 0 || blackholed_) continue;
    const ssize_t got = read(from, buffer, sizeof buffer);
    if (got <= 0) {
      shutdown(to, SHUT_WR);
      return;
    }
    for (ssize_t sent = 0; sent < got;) {
      const ssize_t wrote = send(to, buffer + sent, static_cast<std::size_t>(got - sent), MSG_NOSIGNAL);
      if (wrote <= 0) return;
      sent += wrote;
    }
  }
}

std::string PostgresServer::create_database(const std::string &name) {
  query("postgres", "CREATE DATABASE \"" + name + "\"");
  return url(name);
}

}  // namespace demucs::testing
