// Self-fencing for a node on a shared store: a thread of its own that kills
// the worker of a job whose lease the node could not renew for 2/3 of it,
// before the lease ends by the database's clock and another node may claim
// the job. The scheduler does the same from its heartbeat; this thread is
// what still does it while the main loop is stuck (a database that does not
// answer holds a libpq call for up to its timeout). It only sends SIGKILL
// (kill() is safe from any thread); the main loop, once free, hears of the
// worker's end and asks fenced() why.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace demucs {

class LeaseWatchdog {
 public:
  /// Fences a job `lease_seconds` * 2/3 after its last renewal.
  explicit LeaseWatchdog(int lease_seconds);
  /// Stops the thread (it kills nothing more).
  ~LeaseWatchdog();
  LeaseWatchdog(const LeaseWatchdog &) = delete;
  LeaseWatchdog &operator=(const LeaseWatchdog &) = delete;

  /// A job's worker (its process group) started now, its lease just taken.
  void watch(const std::string &id, pid_t worker);
  /// The leases of every watched job were renewed at `monotonic_microseconds`
  /// (g_get_monotonic_time() when the renewal was sent).
  void renewed(std::int64_t monotonic_microseconds);
  /// The job's worker has ended or was stopped: nothing more to watch.
  void forget(const std::string &id);
  /// Whether this thread killed the job's worker.
  bool fenced(const std::string &id) const;

 private:
  struct Watched {
    pid_t worker = 0;
    std::int64_t renewed = 0;
    bool fenced = false;
  };

  void run();

  const std::int64_t limit_;  // microseconds without a renewal before the fence
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, Watched> watched_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace demucs
