#include "network/tensor_memory.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace demucs {

namespace {

constexpr std::size_t kLargePage = std::size_t{2} << 20;
constexpr std::size_t kMapped = std::size_t{1} << 20;  // mapped on their own from this size
constexpr std::size_t kPage = 4096;

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

// Freed mappings kept for the next tensor of the same length. A forward pass
// allocates and frees the same sizes segment after segment (4 GB of large
// tensors per 5 s of audio); a fresh mapping costs the kernel a page clearing
// each time (20% of all CPU time in perf). The pool never lets live and kept
// mappings together exceed the most that was ever live at once, so the
// resident set peaks where it would without it; a miss gives back the oldest
// kept mappings until the new one fits under that peak. Callers hold the lock.
class MappingPool {
 public:
  // A kept mapping of exactly `length` bytes, or nullptr; then `evicted` gets
  // what the caller must unmap to make room for a new one.
  void* take(std::size_t length, std::vector<std::pair<void*, std::size_t>>& evicted) {
    for (auto it = kept_.rbegin(); it != kept_.rend(); ++it) {  // the most recently freed first
      if (it->second == length) {
        void* data = it->first;
        kept_.erase(std::next(it).base());
        kept_bytes_ -= length;
        live_bytes_ += length;
        return data;
      }
    }
    while (!kept_.empty() && live_bytes_ + kept_bytes_ + length > peak_live_bytes_) {
      evicted.push_back(kept_.front());
      kept_bytes_ -= kept_.front().second;
      kept_.pop_front();
    }
    return nullptr;
  }
  // A new mapping of `length` bytes is in use.
  void mapped(std::size_t length) {
    live_bytes_ += length;
    peak_live_bytes_ = std::max(peak_live_bytes_, live_bytes_);
  }
  // A mapping in use is free: kept (live + kept stays under the peak).
  void give_back(void* data, std::size_t length) {
    live_bytes_ -= length;
    kept_.emplace_back(data, length);
    kept_bytes_ += length;
  }

 private:
  std::list<std::pair<void*, std::size_t>> kept_;  // oldest first
  std::size_t kept_bytes_ = 0;
  std::size_t live_bytes_ = 0;
  std::size_t peak_live_bytes_ = 0;
};

class LargePageAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(std::size_t bytes) const override {
    void* data = bytes >= kMapped ? map(bytes) : nullptr;
    if (data == nullptr) {
      data = c10::alloc_cpu(bytes);
    }
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

 private:
  // A 2 MiB aligned mapping of `bytes` (whole 4 KiB pages), or nullptr. The
  // kernel backs its whole 2 MiB ranges with huge pages, the rest with small ones.
  static void* map(std::size_t bytes) {
    const std::size_t length = round_up(bytes, kPage);
    std::vector<std::pair<void*, std::size_t>> evicted;
    {
      const std::lock_guard<std::mutex> lock(mutex());
      if (void* reused = pool().take(length, evicted)) {
        mappings().emplace(reused, length);
        return reused;
      }
    }
    for (const auto& [data, size] : evicted) {
      munmap(data, size);
    }
    void* mapped = mmap(nullptr, length + kLargePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) {
      return nullptr;
    }
    const auto start = reinterpret_cast<std::uintptr_t>(mapped);
    const std::uintptr_t aligned = round_up(start, kLargePage);
    if (aligned > start) {
      munmap(mapped, aligned - start);
    }
    const std::size_t tail = start + length + kLargePage - (aligned + length);
    if (tail > 0) {
      munmap(reinterpret_cast<void*>(aligned + length), tail);
    }
    void* data = reinterpret_cast<void*>(aligned);
    madvise(data, length, MADV_HUGEPAGE);
    const std::lock_guard<std::mutex> lock(mutex());
    mappings().emplace(data, length);
    pool().mapped(length);
    return data;
  }

  static void release(void* data) {
    if (data == nullptr) {
      return;
    }
    std::size_t length = 0;
    {
      const std::lock_guard<std::mutex> lock(mutex());
      const auto found = mappings().find(data);
      if (found != mappings().end()) {
        length = found->second;
        mappings().erase(found);
      }
    }
    if (length > 0) {
      const std::lock_guard<std::mutex> lock(mutex());
      pool().give_back(data, length);
    } else {
      c10::free_cpu(data);
    }
  }

  static MappingPool& pool() {
    static auto* pool = new MappingPool();  // outlives every tensor
    return *pool;
  }
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::unordered_map<void*, std::size_t>& mappings() {
    static auto* map = new std::unordered_map<void*, std::size_t>();  // outlives every tensor
    return *map;
  }
};

}  // namespace

void use_large_page_tensor_memory() {
  static std::once_flag once;
  std::call_once(once, [] {
    static LargePageAllocator allocator;
    c10::SetCPUAllocator(&allocator, /*priority=*/1);
  });
}

}  // namespace demucs
