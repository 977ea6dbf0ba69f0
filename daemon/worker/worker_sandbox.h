// Confines a worker process (worker_main.h) to what its job needs, with
// Landlock (Linux 5.13+; the rights of the ABI the kernel has), so that a
// decoder turned hostile by a crafted file cannot touch other jobs' files:
//
// - read and run: the installed system (/usr, /lib*, /bin, /sbin, /opt), the
//   folders of the libraries already loaded (LibTorch's, the build's),
//   GStreamer's plugin folders, the program's folder (its build tree when it
//   runs from one); read: /sys, its own /proc/<pid> and /proc's machine
//   files (cpuinfo, meminfo, stat, sys/, driver/, ...), /etc/ld.so.cache and
//   /etc/localtime, a few devices (null, zero, random; /dev/nvidia* and
//   /dev/dri read/write for a GPU), the model (its folder, or the model cache);
// - read and write: its own job folder only (create, write, truncate,
//   rename and remove files there; no folders, links or devices);
// - nothing else: not the other jobs, the data folder's database and
//   uploads, home folders, /tmp, other processes' /proc (the daemon's
//   environ and command line); no TCP connection or listening socket (ABI 4);
//   no signal to, nor abstract socket of, a process outside the sandbox
//   (ABI 6); no ptrace of one (Landlock's own rule).
//
// Not isolated: Unix sockets with a path (a local PostgreSQL's among them),
// UDP, CPU and memory beyond the worker's limits (worker_process.h), and
// what the job's own folder holds. Without Landlock (older kernel, Landlock
// not enabled, a seccomp filter that refuses it) the worker runs
// unconfined, with no_new_privs, and says so on standard error (the
// daemon's log).
#pragma once

#include <string>
#include <vector>

namespace demucs {

struct SandboxRules {
  std::vector<std::string> readable;  ///< files, and folders with all below them, it may read (and run)
  std::vector<std::string> writable;  ///< folders it may read and write files in
  /// Folders no readable rule may contain (the data folder): such a rule is
  /// dropped, and `dropped` says which, so that the sandbox never opens
  /// the other jobs to reading because the data folder lies below /opt.
  std::string protected_folder;
  std::vector<std::string> dropped;
};

/// The rules for a worker of the job whose folder is `job_folder` (the
/// data folder's jobs/<id>): the system's and the program's files as above,
/// `own_files` (its input, its model) readable, `job_folder` writable when
/// `writes` (a probe writes nothing), and the data folder protected.
SandboxRules worker_sandbox_rules(const std::vector<std::string> &own_files, const std::string &job_folder,
                                  bool writes);

/// Confines this process (and what it starts) to `rules`, for good: "" once
/// confined, else why not. no_new_privs is set either way. A rule the
/// kernel refuses is left out (less access, never more) and said on
/// standard error.
std::string confine_worker(const SandboxRules &rules);

}  // namespace demucs
