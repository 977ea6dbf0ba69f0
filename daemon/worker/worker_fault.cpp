#include "worker_fault.h"

#include "worker_protocol.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

extern char **environ;

namespace demucs {

namespace {

// "allowed", or the errno's name that refused it.
std::string verdict(bool done) {
  if (done) return "allowed";
  return errno == EACCES ? "EACCES" : errno == EPERM ? "EPERM" : g_strerror(errno);
}

std::string try_read(const std::string &path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) close(fd);
  return verdict(fd >= 0);
}

std::string try_create(const std::string &path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    close(fd);
    unlink(path.c_str());
  }
  return verdict(fd >= 0);
}

// Lists the folder, and reads and writes in each job folder found there.
std::string try_other_jobs(const std::string &jobs, const std::string &own) {
  GError *error = nullptr;
  GDir *listing = g_dir_open(jobs.c_str(), 0, &error);
  if (listing == nullptr) {
    const bool refused = g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_ACCES);
    g_error_free(error);
    return refused ? "EACCES" : "failed";
  }
  std::string found;
  while (const gchar *name = g_dir_read_name(listing)) {
    const std::string folder = jobs + "/" + name;
    if (folder == own) continue;
    found += " " + std::string(name) + ": read " + try_read(folder + "/output.wav") + ", write " +
             try_create(folder + "/trespass.txt") + ";";
  }
  g_dir_close(listing);
  return "allowed," + found;
}

std::string try_tcp() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return verdict(false);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(1);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool connected = connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0;
  const std::string result = connected || errno == ECONNREFUSED ? "allowed" : verdict(false);
  close(fd);
  return result;
}

// The variables the daemon must not have passed on (worker_environment.h).
std::string secrets_in_environment() {
  std::string names;
  for (char **entry = environ; *entry != nullptr; ++entry) {
    const std::string name = std::string(*entry).substr(0, std::string(*entry).find('='));
    if (name.rfind("PG", 0) == 0 || name.rfind("DEMUCS_VOCALSD_", 0) == 0 || name == "DATABASE_URL")
      names += (names.empty() ? "" : " ") + name;
  }
  return names.empty() ? "none" : names;
}

// Each thing a hostile decoder might try, and what came of it; the test
// (daemon_worker_test) compares the whole line.
[[noreturn]] void trespass(const std::string &job_folder) {
  // A job's worker writes in its attempt's folder, jobs/<id>/attempt-<n>/.
  g_autofree gchar *own_name = g_path_get_basename(job_folder.c_str());
  g_autofree gchar *attempt_parent = g_path_get_dirname(job_folder.c_str());
  const std::string job = g_str_has_prefix(own_name, "attempt-") ? std::string(attempt_parent) : job_folder;
  g_autofree gchar *jobs = g_path_get_dirname(job.c_str());
  g_autofree gchar *data = g_path_get_dirname(jobs);
  const char *planted = g_getenv("DEMUCS_TEST_TRESPASS_FILE");
  const std::string report =
      "trespass: other jobs " + try_other_jobs(jobs, job) +
      " | file elsewhere " + (planted != nullptr ? try_read(planted) : std::string("unset")) +
      " | write in data folder " + try_create(std::string(data) + "/trespass.txt") +
      " | daemon environ " + try_read("/proc/" + std::to_string(getppid()) + "/environ") +
      " | tcp " + try_tcp() +
      " | signal daemon " + verdict(kill(getppid(), 0) == 0) +
      " | own folder " + try_create(job_folder + "/trespass.txt") +
      " | secrets " + secrets_in_environment();
  JsonObject *event = json_object_new();
  json_object_set_string_member(event, "event", "error");
  json_object_set_string_member(event, "message", report.c_str());
  json_object_set_string_member(event, "kind", "failed");
  write_worker_event(event);
  std::exit(1);
}

}  // namespace

bool is_test_fault(const std::string &name) {
  for (const char *fault : {"crash", "hang", "allocate", "flood", "trespass"})
    if (name == fault) return true;
  return false;
}

void run_test_fault(const std::string &fault, const std::string &job_folder) {
  if (fault == "crash") std::abort();
  if (fault == "hang")
    for (;;) pause();
  if (fault == "flood") {  // a report that never ends
    const std::string bytes(1 << 20, 'x');
    for (;;) std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  }
  if (fault == "allocate") {
    constexpr std::size_t kPiece = 64 << 20;
    std::vector<std::unique_ptr<char[]>> held;
    for (;;) {
      held.emplace_back(new char[kPiece]);        // throws std::bad_alloc at the limit
      std::memset(held.back().get(), 1, kPiece);  // really used, not only reserved
    }
  }
  if (fault == "trespass") trespass(job_folder);
}

}  // namespace demucs
