#include "network/shared_models.h"

#include "checkpoint/checkpoint_reader.h"
#include "network/device_memory.h"

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
  Precision precision = Precision::fp32;
  bool operator<(const ModelKey& o) const {
    return std::tie(canonical_path, size, modified, device, precision) <
           std::tie(o.canonical_path, o.size, o.modified, o.device, o.precision);
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

// The model, held so that when its last user drops it the GPU memory it used
// goes back to the driver, not only to LibTorch's cache.
std::shared_ptr<HTDemucs> releasing_device_memory(std::shared_ptr<HTDemucs> model) {
  if (!model->device().is_cuda()) {
    return model;
  }
  HTDemucs* network = model.get();
  return std::shared_ptr<HTDemucs>(network, [owner = std::move(model)](HTDemucs*) mutable {
    const c10::Device device = owner->device();
    owner.reset();
    release_cached_device_memory(device);
  });
}

}  // namespace

std::shared_ptr<HTDemucs> load_shared_htdemucs(const std::string& path, c10::Device device, Precision precision) {
  std::error_code error;
  const auto canonical = std::filesystem::canonical(path, error);
  if (error) {
    // Let the reader produce its "missing file" message.
    return releasing_device_memory(HTDemucs::from_checkpoint(read_checkpoint(path), device, precision));
  }
  const ModelKey key{canonical.string(), std::filesystem::file_size(canonical, error),
                     std::filesystem::last_write_time(canonical, error), device.str(), precision};
  // Loading under the lock: two elements asking at once load the file once.
  std::lock_guard<std::mutex> lock(pool_mutex());
  if (auto existing = pool()[key].lock()) {
    return existing;
  }
  auto model = releasing_device_memory(HTDemucs::from_checkpoint(read_checkpoint(path), device, precision));
  pool()[key] = model;
  return model;
}

}  // namespace demucs
