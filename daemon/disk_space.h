// Free space in the data folder: uploads are refused, and jobs stopped,
// before the disk fills, keeping --min-free-mb free. Uploads in flight each
// hold a reservation of the bytes they announced, so that many uploads
// started at once cannot together pass the check each passed alone.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace demucs {

class DiskSpace {
 public:
  using Reservation = std::shared_ptr<void>;

  DiskSpace(std::string folder, std::int64_t min_free_bytes);

  /// Bytes available to this process in the folder's file system (statvfs),
  /// less what uploads in flight have reserved; -1 if it cannot be read.
  std::int64_t available() const;
  /// Reserves `bytes` for an upload if that leaves min_free; nullptr if not.
  Reservation reserve(std::int64_t bytes);
  /// Whether the folder still has min_free available (for running jobs).
  bool above_minimum() const;
  std::int64_t min_free_bytes() const { return min_free_; }

 private:
  std::string folder_;
  std::int64_t min_free_;
  std::shared_ptr<std::int64_t> reserved_ = std::make_shared<std::int64_t>(0);
};

/// "disk full" wording for a user, with the minimum kept free.
std::string disk_full_text(std::int64_t min_free_bytes);

}  // namespace demucs
