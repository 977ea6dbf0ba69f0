#include "network/tensor_memory.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <sys/mman.h>

#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace demucs {

namespace {

constexpr std::size_t kLargePage = std::size_t{2} << 20;
constexpr std::size_t kMapped = std::size_t{1} << 20;  // mapped on their own from this size
constexpr std::size_t kPage = 4096;

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

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
      munmap(data, length);
    } else {
      c10::free_cpu(data);
    }
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
