#include "upload_name.h"

#include <glib.h>

#include <algorithm>
#include <array>

namespace demucs {

namespace {

constexpr std::array<const char *, 6> kAllowedExtensions = {"mp3", "wav", "flac", "ogg", "m4a", "aac"};
constexpr std::size_t kMaxNameBytes = 200;

// Cuts `text` to at most `bytes` bytes without splitting a UTF-8 character.
std::string utf8_prefix(const std::string &text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  const char *end = g_utf8_find_prev_char(text.c_str(), text.c_str() + bytes + 1);
  return text.substr(0, end ? static_cast<std::size_t>(end - text.c_str()) : 0);
}

}  // namespace

const char *allowed_upload_extensions() { return "mp3, wav, flac, ogg, m4a, aac"; }

std::string sanitize_upload_name(const std::string &raw) {
  gchar *valid = g_utf8_make_valid(raw.c_str(), static_cast<gssize>(raw.size()));
  std::string name = valid;
  g_free(valid);

  const std::size_t slash = name.find_last_of("/\\");
  if (slash != std::string::npos) name.erase(0, slash + 1);

  std::string clean;
  for (const char *p = name.c_str(); *p; p = g_utf8_next_char(p)) {
    const gunichar c = g_utf8_get_char(p);
    // Control characters, line separators, and format characters (Cf: the
    // bidirectional overrides that make "3pm.exe" show as "exe.mp3", zero
    // widths, the byte order mark).
    if (g_unichar_iscntrl(c) || c == 0x2028 || c == 0x2029 || g_unichar_type(c) == G_UNICODE_FORMAT) continue;
    clean.append(p, g_utf8_next_char(p) - p);
  }
  const std::size_t first = clean.find_first_not_of(" .\t");
  const std::size_t last = clean.find_last_not_of(" \t");
  clean = first == std::string::npos ? "" : clean.substr(first, last - first + 1);

  if (clean.size() > kMaxNameBytes) {
    const std::string extension = lowercase_extension(clean);
    const std::string suffix = extension.empty() || extension.size() > 10 ? "" : "." + extension;
    clean = utf8_prefix(clean, kMaxNameBytes - suffix.size()) + suffix;
  }
  return clean.empty() ? "upload" : clean;
}

std::string lowercase_extension(const std::string &name) {
  const std::size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot + 1 >= name.size()) return "";
  if (name.find_first_of("/\\", dot) != std::string::npos) return "";
  std::string extension = name.substr(dot + 1);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(g_ascii_tolower(c)); });
  return extension;
}

bool is_allowed_upload_extension(const std::string &extension) {
  return std::find(kAllowedExtensions.begin(), kAllowedExtensions.end(), extension) != kAllowedExtensions.end();
}

}  // namespace demucs
