#include "data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace demucs {

DataDirLock::DataDirLock(const std::string &folder) {
  const std::string path = folder + "/.lock";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error_ = "cannot open " + path + ": " + std::strerror(errno);
    return;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    const ssize_t got = pread(fd, holder, sizeof holder - 1, 0);
    const std::string pid = got > 0 ? std::string(holder, static_cast<std::size_t>(got)) : "";
    error_ = "another demucs-vocalsd" + (pid.empty() ? std::string() : " (process " + pid + ")") +
             " is using the data folder " + folder +
             ": stop it, or give this one another --data-dir (several nodes share a folder only through PostgreSQL)";
    close(fd);
    return;
  }
  const std::string pid = std::to_string(getpid());
  if (ftruncate(fd, 0) == 0) {
    const ssize_t written = pwrite(fd, pid.data(), pid.size(), 0);
    (void)written;  // the pid is a courtesy for the message above
  }
  fd_ = fd;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) close(fd_);  // releases the lock
}

}  // namespace demucs
