// One daemon per data folder: an exclusive lock (flock) on DATA/.lock, held
// for the daemon's life. A second daemon on the same folder would run the
// same jobs and delete each other's files; it refuses to start instead.
#pragma once

#include <string>

namespace demucs {

class DataDirLock {
 public:
  /// Takes the lock; `ok()` false (and `error()` says who holds it) if not.
  explicit DataDirLock(const std::string &folder);
  ~DataDirLock();
  DataDirLock(const DataDirLock &) = delete;
  DataDirLock &operator=(const DataDirLock &) = delete;

  bool ok() const { return fd_ >= 0; }
  const std::string &error() const { return error_; }

 private:
  int fd_ = -1;
  std::string error_;
};

}  // namespace demucs
