// An unpickler for what torch.save writes (pickle protocol 2; the framing and
// memo opcodes of protocols 4-5 are accepted too). It understands tensors,
// OrderedDict and fractions.Fraction, keeps references to classes as Global
// values and any other object it does not know as an opaque Object value, so
// that unrelated content (training arguments) cannot prevent loading.
#pragma once

#include "checkpoint/pickle_value.h"

#include <c10/core/Allocator.h>

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

namespace demucs {

// A malformed or unsupported pickle. what() says what and at which byte offset;
// it does not name the file (the caller knows it).
class PickleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The bytes of a torch.save storage record: its data and size in bytes.
struct StorageRecord {
  at::DataPtr data;
  size_t size = 0;
};

// Fetches the record of a storage by its key (the "N" of "data/N" in a
// torch.save archive). May throw; its exceptions pass through read_pickle.
using StorageRecordSource = std::function<StorageRecord(const std::string& key)>;

// Unpickles `size` bytes at `data`. Tensors are CPU tensors in their stored
// dtype, backed by the storage records `storages` returns (tensors that name the
// same key share one storage; each key is fetched once). Throws PickleError.
PickleValue read_pickle(const void* data, size_t size, const StorageRecordSource& storages);

}  // namespace demucs
