// Fuzzes attachment_disposition (the download's Content-Disposition): the
// header value is printable ASCII only (no CR/LF: no header injection) and
// the quoted fallback name holds no quote or backslash.
#include "fuzz_check.h"
#include "security_headers.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string name(reinterpret_cast<const char *>(data), size);
  const std::string value = demucs::attachment_disposition(name);
  for (unsigned char c : value) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
  const std::string prefix = "attachment; filename=\"";
  FUZZ_CHECK(value.compare(0, prefix.size(), prefix) == 0);
  const std::size_t close = value.find('"', prefix.size());
  FUZZ_CHECK(close != std::string::npos);
  FUZZ_CHECK(value.compare(close, 20, "\"; filename*=UTF-8''") == 0);
  FUZZ_CHECK(value.find('\\') == std::string::npos);
  return 0;
}
