#include "security_headers.h"

#include <glib.h>

#include <cstdio>

namespace demucs {

void add_security_headers(SoupMessageHeaders *headers) {
  // blob: media for the page's players; nothing from another origin.
  soup_message_headers_replace(headers, "Content-Security-Policy",
                               "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  soup_message_headers_replace(headers, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace(headers, "X-Frame-Options", "DENY");
  soup_message_headers_replace(headers, "Referrer-Policy", "no-referrer");
  soup_message_headers_replace(headers, "Cross-Origin-Resource-Policy", "same-origin");
}

std::string attachment_disposition(const std::string &file_name) {
  std::string fallback;  // printable ASCII but the quote and the backslash
  std::string encoded;   // RFC 8187: attr-char as it is, every other byte %XX
  // Walk a valid copy: on invalid UTF-8 (a lead byte near the end)
  // g_utf8_next_char jumps past the terminating NUL.
  g_autofree gchar *valid = g_utf8_make_valid(file_name.c_str(), static_cast<gssize>(file_name.size()));
  for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
    const gunichar c = g_utf8_get_char(p);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
      fallback += static_cast<char>(c);
    else if (c >= 0x20 && c != 0x7f)
      fallback += '_';
  }
  for (unsigned char byte : file_name) {
    if (g_ascii_isalnum(byte) || (byte && std::string("!#$&+-.^_`|~").find(static_cast<char>(byte)) != std::string::npos)) {
      encoded += static_cast<char>(byte);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", byte);
      encoded += hex;
    }
  }
  if (fallback.empty()) fallback = "download";
  return "attachment; filename=\"" + fallback + "\"; filename*=UTF-8''" + encoded;
}

}  // namespace demucs
