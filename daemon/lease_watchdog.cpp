#include "lease_watchdog.h"

#include "daemon_log.h"

#include <glib.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <vector>

namespace demucs {

LeaseWatchdog::LeaseWatchdog(int lease_seconds)
    : limit_(std::int64_t{lease_seconds} * G_USEC_PER_SEC * 2 / 3), thread_([this] { run(); }) {}

LeaseWatchdog::~LeaseWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void LeaseWatchdog::watch(const std::string &id, pid_t worker) {
  std::lock_guard<std::mutex> lock(mutex_);
  watched_[id] = Watched{worker, g_get_monotonic_time(), false};
}

void LeaseWatchdog::renewed(std::int64_t monotonic_microseconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto &entry : watched_) entry.second.renewed = std::max(entry.second.renewed, monotonic_microseconds);
}

void LeaseWatchdog::forget(const std::string &id) {
  std::lock_guard<std::mutex> lock(mutex_);
  watched_.erase(id);
}

bool LeaseWatchdog::fenced(const std::string &id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = watched_.find(id);
  return found != watched_.end() && found->second.fenced;
}

// Looks every 1/20 of the limit (100 ms at most), so that a fence comes
// well before the lease ends.
void LeaseWatchdog::run() {
  const auto period = std::chrono::microseconds(std::clamp<std::int64_t>(limit_ / 20, 10000, 100000));
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, period, [this] { return stopping_; });
    const std::int64_t now = g_get_monotonic_time();
    for (auto &[id, watched] : watched_) {
      if (watched.fenced || now - watched.renewed <= limit_) continue;
      // A worker that ended stays a zombie (its pid its own) until the main
      // loop reaps it, and the main loop forgets it right then: while the
      // loop is stuck, nothing here can hit a reused pid.
      ::kill(-watched.worker, SIGKILL);
      ::kill(watched.worker, SIGKILL);
      watched.fenced = true;
      daemon_log("job %s: lease not renewed for %lld ms: its worker was stopped (fenced) so that another node "
                 "can run it",
                 id.c_str(), static_cast<long long>((now - watched.renewed) / 1000));
    }
  }
}

}  // namespace demucs
