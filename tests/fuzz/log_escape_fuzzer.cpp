// Fuzzes escape_for_log: whatever a client sends (path, user agent), the
// logged text has no control byte (no forged log lines, no terminal escapes).
#include "access_log.h"
#include "fuzz_check.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  const std::string escaped = demucs::escape_for_log(text);
  for (unsigned char c : escaped) FUZZ_CHECK(c >= 0x20 && c != 0x7f);
  return 0;
}
