// Fuzzes parse_worker_event: a line from a worker process (which decodes
// untrusted audio and may be compromised) is either a JSON object or nullptr.
#include "fuzz_check.h"
#include "worker/worker_protocol.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string line(reinterpret_cast<const char *>(data), size);
  JsonObject *event = demucs::parse_worker_event(line);
  if (event) json_object_unref(event);
  return 0;
}
