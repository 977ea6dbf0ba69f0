#include "network/shared_models.h"

#include "checkpoint/checkpoint_reader.h"

#include <filesystem>
#include <map>
#include <mutex>
#include <tuple>

namespace demucs {

namespace {

// A file is the same model while its path, size and modification time are.
struct ModelKey {
  std::string canonical_path;
  uintmax_t size = 0;
  std::filesystem::file_time_type modified;
  std::string device;
  bool operator<(const ModelKey& o) const {
    return std::tie(canonical_path, size, modified, device) < std::tie(o.canonical_path, o.size, o.modified, o.device);
  }
};

std::mutex& pool_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::map<ModelKey, std::weak_ptr<HTDemucs>>& pool() {
  static std::map<ModelKey, std::weak_ptr<HTDemucs>> models;
  return models;
}

}  // namespace

std::shared_ptr<HTDemucs> load_shared_htdemucs(const std::string& path, c10::Device device) {
  std::error_code error;
  const auto canonical = std::filesystem::canonical(path, error);
  if (error) {
    // Let the reader produce its "missing file" message.
    return HTDemucs::from_checkpoint(read_checkpoint(path), device);
  }
  const ModelKey key{canonical.string(), std::filesystem::file_size(canonical, error),
                     std::filesystem::last_write_time(canonical, error), device.str()};
  // Loading under the lock: two elements asking at once load the file once.
  std::lock_guard<std::mutex> lock(pool_mutex());
  if (auto existing = pool()[key].lock()) {
    return existing;
  }
  auto model = HTDemucs::from_checkpoint(read_checkpoint(path), device);
  pool()[key] = model;
  return model;
}

}  // namespace demucs
