#include "worker_sandbox.h"

#include "registry/model_cache.h"

#include <fcntl.h>
#include <glib.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

#ifndef __NR_landlock_create_ruleset  // one number on every architecture
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif

namespace demucs {

namespace {

// The rights by ABI (linux/landlock.h; the distribution's header may be
// older than the kernel, so the later ones are spelled out here).
constexpr std::uint64_t kExecute = 1ULL << 0;
constexpr std::uint64_t kWriteFile = 1ULL << 1;
constexpr std::uint64_t kReadFile = 1ULL << 2;
constexpr std::uint64_t kReadDir = 1ULL << 3;
constexpr std::uint64_t kRemoveFile = 1ULL << 5;
constexpr std::uint64_t kMakeReg = 1ULL << 8;
constexpr std::uint64_t kAbi1Rights = (1ULL << 13) - 1;  // execute .. make_sym
constexpr std::uint64_t kRefer = 1ULL << 13;             // ABI 2
constexpr std::uint64_t kTruncate = 1ULL << 14;          // ABI 3
constexpr std::uint64_t kFileRights = kExecute | kWriteFile | kReadFile | kTruncate;  // what a rule on a file may hold
constexpr std::uint64_t kBindTcp = 1ULL << 0;            // ABI 4
constexpr std::uint64_t kConnectTcp = 1ULL << 1;
constexpr std::uint64_t kScopeAbstractUnixSocket = 1ULL << 0;  // ABI 6
constexpr std::uint64_t kScopeSignal = 1ULL << 1;

// struct landlock_ruleset_attr as of ABI 6; older kernels take a prefix.
struct RulesetAttributes {
  std::uint64_t handled_access_fs = 0;
  std::uint64_t handled_access_net = 0;
  std::uint64_t scoped = 0;
};

std::string canonical(const std::string &path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) != nullptr ? resolved : "";
}

std::string folder_of(const std::string &path) {
  g_autofree gchar *folder = g_path_get_dirname(path.c_str());
  return folder;
}

bool beneath(const std::string &path, const std::string &folder) {
  if (folder.empty() || path.empty()) return false;
  if (folder == "/" || path == folder) return true;
  return path.size() > folder.size() && path.compare(0, folder.size(), folder) == 0 && path[folder.size()] == '/';
}

// Each folder of a ':'-separated variable.
void add_search_path(std::vector<std::string> &paths, const char *variable) {
  const gchar *value = g_getenv(variable);
  if (value == nullptr) return;
  g_auto(GStrv) parts = g_strsplit(value, ":", -1);
  for (gchar **part = parts; *part != nullptr; ++part)
    if (**part != '\0') paths.emplace_back(*part);
}

// The folders of the files mapped now: the program, its libraries (LibTorch
// wherever it is installed), GStreamer's registry.
void add_mapped_folders(std::vector<std::string> &paths) {
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> folders;
  for (std::string line; std::getline(maps, line);) {
    const std::size_t slash = line.find('/');
    if (slash == std::string::npos || line.find(" (deleted)") != std::string::npos) continue;
    folders.insert(folder_of(line.substr(slash)));
  }
  paths.insert(paths.end(), folders.begin(), folders.end());
}

std::vector<std::string> system_folders() {
  std::vector<std::string> paths = {"/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/opt", "/sys",
                                    "/etc/ld.so.cache", "/etc/localtime", "/dev/zero", "/dev/urandom", "/dev/random"};
  // Of /proc only this process's own folder and what describes the machine:
  // not the daemon's, whose environ Landlock's ptrace rule does not guard
  // (PGPASSWORD) and whose cmdline may hold the database URL.
  for (const char *file : {"/proc/self", "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/loadavg",
                           "/proc/filesystems", "/proc/devices", "/proc/modules", "/proc/sys", "/proc/driver"})
    paths.emplace_back(file);
  for (const char *variable :
       {"GST_PLUGIN_PATH", "GST_PLUGIN_PATH_1_0", "GST_PLUGIN_SYSTEM_PATH", "GST_PLUGIN_SYSTEM_PATH_1_0"})
    add_search_path(paths, variable);
  const std::string program = canonical("/proc/self/exe");
  paths.push_back(folder_of(program));
  if (beneath(program, DEMUCS_BUILD_ROOT)) paths.emplace_back(DEMUCS_BUILD_ROOT);  // the plugin beside it
  add_mapped_folders(paths);
  return paths;
}

// Devices a worker writes: /dev/null, and a GPU's.
std::vector<std::string> writable_devices() {
  std::vector<std::string> devices = {"/dev/null", "/dev/dri"};
  if (GDir *dev = g_dir_open("/dev", 0, nullptr)) {
    while (const gchar *name = g_dir_read_name(dev))
      if (g_str_has_prefix(name, "nvidia")) devices.push_back(std::string("/dev/") + name);
    g_dir_close(dev);
  }
  return devices;
}

std::string errno_text(const char *what) { return std::string(what) + ": " + g_strerror(errno); }

// One rule: `rights` beneath `path` (only a file's rights when it is not a
// folder). A path that does not exist is no rule; one the kernel refuses
// is left out, and said.
void add_rule(int ruleset, const std::string &path, std::uint64_t rights, std::uint64_t handled) {
  const int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return;
  struct stat status {};
  if (fstat(fd, &status) == 0 && !S_ISDIR(status.st_mode)) rights &= kFileRights;
  landlock_path_beneath_attr beneath_attr{};
  beneath_attr.allowed_access = rights & handled;
  beneath_attr.parent_fd = fd;
  if (syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath_attr, 0) != 0)
    std::fprintf(stderr, "demucs-vocalsd worker: %s is left out of the sandbox: %s\n", path.c_str(),
                 g_strerror(errno));
  close(fd);
}

}  // namespace

SandboxRules worker_sandbox_rules(const std::vector<std::string> &own_files, const std::string &job_folder,
                                  bool writes) {
  SandboxRules rules;
  const std::string job = canonical(job_folder);
  rules.protected_folder = folder_of(folder_of(job));
  // The model: a checkpoint's folder (a config may lie beside it), or the cache.
  std::vector<std::string> readable = system_folders();
  for (const std::string &file : own_files) {
    if (!g_file_test(file.c_str(), G_FILE_TEST_IS_REGULAR)) continue;  // a known model's name, say
    readable.push_back(file);
    readable.push_back(folder_of(canonical(file)));
  }
  readable.push_back(default_model_cache_folder());
  for (const std::string &path : readable) {
    const std::string resolved = canonical(path);
    if (resolved.empty()) continue;
    // A rule for the data folder or above it would open the other jobs.
    if (beneath(rules.protected_folder, resolved) && !beneath(resolved, job)) {
      rules.dropped.push_back(resolved);
      continue;
    }
    rules.readable.push_back(resolved);
  }
  if (writes && !job.empty()) rules.writable.push_back(job);
  return rules;
}

std::string confine_worker(const SandboxRules &rules) {
  // Needed to confine an unprivileged process; and no setuid program it
  // might start gains anything.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno_text("cannot set no_new_privs");
  const long abi = syscall(__NR_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi <= 0) return errno_text("Landlock is not available");

  RulesetAttributes attributes;
  attributes.handled_access_fs = kAbi1Rights | (abi >= 2 ? kRefer : 0) | (abi >= 3 ? kTruncate : 0);
  std::size_t size = sizeof attributes.handled_access_fs;
  if (abi >= 4) {
    attributes.handled_access_net = kBindTcp | kConnectTcp;  // and no rule: no TCP at all
    size += sizeof attributes.handled_access_net;
  }
  if (abi >= 6) {
    attributes.scoped = kScopeAbstractUnixSocket | kScopeSignal;
    size += sizeof attributes.scoped;
  }
  const int ruleset = static_cast<int>(syscall(__NR_landlock_create_ruleset, &attributes, size, 0));
  if (ruleset < 0) return errno_text("cannot make a Landlock ruleset");

  const std::uint64_t handled = attributes.handled_access_fs;
  const std::uint64_t read = kReadFile | kReadDir | kExecute;
  const std::uint64_t write = read | kWriteFile | kRemoveFile | kMakeReg | kTruncate;
  for (const std::string &path : rules.readable) add_rule(ruleset, path, read, handled);
  for (const std::string &path : writable_devices())
    add_rule(ruleset, path, kReadFile | kWriteFile | kReadDir, handled);
  for (const std::string &path : rules.writable) add_rule(ruleset, path, write, handled);
  std::string problem;
  if (syscall(__NR_landlock_restrict_self, ruleset, 0) != 0)
    problem = errno_text("cannot confine the process with Landlock");
  close(ruleset);
  return problem;
}

}  // namespace demucs
