// Fuzzes redact_server_paths (error texts that reach clients): no crash, and
// redacting twice changes nothing more.
#include "fuzz_check.h"
#include "path_redaction.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  const std::string once = demucs::redact_server_paths(text);
  FUZZ_CHECK(demucs::redact_server_paths(once) == once);
  return 0;
}
