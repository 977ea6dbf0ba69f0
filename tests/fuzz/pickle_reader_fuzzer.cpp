// Fuzzes the unpickler on raw bytes (a checkpoint's data.pkl). A persistent
// id asks for a storage: it gets a small zeroed buffer, so that tensor views
// over it are checked against its size. Anything malformed must end in a
// PickleError (or another std::exception), never a crash.
#include "checkpoint/pickle_reader.h"

#include <c10/core/CPUAllocator.h>

#include <cstddef>
#include <cstdint>
#include <exception>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const demucs::StorageRecordSource storages = [](const std::string &) {
    constexpr size_t kStorageBytes = 256;
    demucs::StorageRecord record;
    record.data = c10::GetCPUAllocator()->allocate(kStorageBytes);
    std::memset(record.data.get(), 0, kStorageBytes);
    record.size = kStorageBytes;
    return record;
  };
  try {
    (void)demucs::read_pickle(data, size, storages);
  } catch (const std::exception &) {
  }
  return 0;
}
