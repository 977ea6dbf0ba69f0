// Fuzzes sanitize_upload_name and lowercase_extension. Asserts what the
// daemon relies on: the name is valid UTF-8, never empty, at most 200 bytes,
// with no '/', '\\', control, line separator or format (Cf) character, and
// does not start with a dot or a space.
#include "fuzz_check.h"
#include "upload_name.h"

#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string raw(reinterpret_cast<const char *>(data), size);
  const std::string name = demucs::sanitize_upload_name(raw);
  FUZZ_CHECK(!name.empty());
  FUZZ_CHECK(name.size() <= 200);
  FUZZ_CHECK(name.find('\0') == std::string::npos);
  FUZZ_CHECK(g_utf8_validate(name.c_str(), static_cast<gssize>(name.size()), nullptr));
  FUZZ_CHECK(name.find_first_of("/\\") == std::string::npos);
  FUZZ_CHECK(name[0] != '.' && name[0] != ' ');
  for (const char *p = name.c_str(); *p; p = g_utf8_next_char(p)) {
    const gunichar c = g_utf8_get_char(p);
    FUZZ_CHECK(!g_unichar_iscntrl(c));
    FUZZ_CHECK(c != 0x2028 && c != 0x2029);
    FUZZ_CHECK(g_unichar_type(c) != G_UNICODE_FORMAT);
  }

  const std::string extension = demucs::lowercase_extension(raw);
  FUZZ_CHECK(extension.size() < raw.size() || extension.empty());
  FUZZ_CHECK(extension.find_first_of("./\\") == std::string::npos);
  for (unsigned char c : extension) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  (void)demucs::is_allowed_upload_extension(extension);
  return 0;
}
