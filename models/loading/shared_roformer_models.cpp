#include "loading/shared_roformer_models.h"

#include "network/device_memory.h"
#include "roformer/roformer_loader.h"

#include <filesystem>
#include <map>
#include <mutex>
#include <tuple>

namespace demucs {

namespace {

// One file as it is now: a file rewritten in place is another model.
struct FileIdentity {
  std::string canonical_path;
  uintmax_t size = 0;
  std::filesystem::file_time_type modified;

  explicit FileIdentity(const std::string& path) {
    std::error_code error;
    canonical_path = std::filesystem::canonical(path, error).string();
    if (error) {
      canonical_path = path;
    }
    size = std::filesystem::file_size(path, error);
    modified = std::filesystem::last_write_time(path, error);
  }
  auto fields() const { return std::tie(canonical_path, size, modified); }
};

struct RoformerKey {
  FileIdentity checkpoint;
  FileIdentity config;
  std::string device;
  Precision precision;
  bool operator<(const RoformerKey& o) const {
    return std::tuple_cat(checkpoint.fields(), config.fields(), std::tie(device, precision)) <
           std::tuple_cat(o.checkpoint.fields(), o.config.fields(), std::tie(o.device, o.precision));
  }
};

std::mutex& pool_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::map<RoformerKey, std::weak_ptr<Roformer>>& pool() {
  static std::map<RoformerKey, std::weak_ptr<Roformer>> models;
  return models;
}

// The network, held so that when its last user drops it the GPU memory it
// used goes back to the driver, not only to LibTorch's cache.
std::shared_ptr<Roformer> releasing_device_memory(std::shared_ptr<Roformer> model) {
  if (!model->device().is_cuda()) {
    return model;
  }
  Roformer* network = model.get();
  return std::shared_ptr<Roformer>(network, [owner = std::move(model)](Roformer*) mutable {
    const c10::Device device = owner->device();
    owner.reset();
    release_cached_device_memory(device);
  });
}

}  // namespace

std::shared_ptr<Roformer> load_shared_roformer(const std::string& checkpoint, const std::string& config,
                                               c10::Device device, Precision precision) {
  const RoformerKey key{FileIdentity(checkpoint), FileIdentity(config), device.str(), precision};
  // Loading under the lock: two elements asking at once load the files once.
  std::lock_guard<std::mutex> lock(pool_mutex());
  if (auto existing = pool()[key].lock()) {
    return existing;
  }
  auto model = releasing_device_memory(load_roformer(checkpoint, config, device, precision));
  pool()[key] = model;
  return model;
}

}  // namespace demucs
