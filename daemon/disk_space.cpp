#include "disk_space.h"

#include <sys/statvfs.h>

namespace demucs {

DiskSpace::DiskSpace(std::string folder, std::int64_t min_free_bytes)
    : folder_(std::move(folder)), min_free_(min_free_bytes) {}

std::int64_t DiskSpace::available() const {
  struct statvfs info {};
  if (statvfs(folder_.c_str(), &info) != 0) return -1;
  return static_cast<std::int64_t>(info.f_bavail) * static_cast<std::int64_t>(info.f_frsize) - *reserved_;
}

DiskSpace::Reservation DiskSpace::reserve(std::int64_t bytes) {
  const std::int64_t free = available();
  if (free >= 0 && free - bytes < min_free_) return nullptr;
  *reserved_ += bytes;
  std::shared_ptr<std::int64_t> reserved = reserved_;
  return Reservation(reserved.get(), [reserved, bytes](void *) { *reserved -= bytes; });
}

bool DiskSpace::above_minimum() const {
  const std::int64_t free = available();
  return free < 0 || free >= min_free_;
}

std::string disk_full_text(std::int64_t min_free_bytes) {
  return "disk full: the server has too little free space (it keeps " +
         std::to_string(min_free_bytes / (1024 * 1024)) + " MB free). Try again later.";
}

}  // namespace demucs
