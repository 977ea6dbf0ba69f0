#include "access_log.h"

#include "daemon_log.h"

#include <glib.h>

#include <cstdio>

namespace demucs {

namespace {
constexpr const char *kStartKey = "demucs-request-start";
}

void mark_request_start(SoupServerMessage *message) {
  if (g_object_get_data(G_OBJECT(message), kStartKey) != nullptr) return;
  auto *start = g_new(gint64, 1);
  *start = g_get_monotonic_time();
  g_object_set_data_full(G_OBJECT(message), kStartKey, start, g_free);
}

std::string escape_for_log(const std::string &text) {
  std::string escaped;
  const char *p = text.data();
  const char *end = p + text.size();
  while (p < end) {
    const gunichar c = g_utf8_get_char_validated(p, end - p);
    const bool valid = c != static_cast<gunichar>(-1) && c != static_cast<gunichar>(-2);
    if (!valid || c < 0x20 || c == 0x7f || c == '\\' || (c >= 0x80 && c < 0xa0)) {
      const int bytes = valid ? static_cast<int>(g_utf8_next_char(p) - p) : 1;
      for (int i = 0; i < bytes; ++i) {
        char hex[5];
        std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned char>(p[i]));
        escaped += hex;
      }
      p += bytes;
      continue;
    }
    const char *next = g_utf8_next_char(p);
    escaped.append(p, next);
    p = next;
  }
  return escaped;
}

void log_request(SoupServerMessage *message, guint status) {
  const gint64 *start = static_cast<const gint64 *>(g_object_get_data(G_OBJECT(message), kStartKey));
  const double milliseconds = start ? (g_get_monotonic_time() - *start) / 1000.0 : 0.0;
  const char *method = soup_server_message_get_method(message);
  GUri *uri = soup_server_message_get_uri(message);
  const char *host = soup_server_message_get_remote_host(message);
  daemon_log("%s %s %s -> %u (%.1f ms)", host ? host : "-", escape_for_log(method ? method : "-").c_str(),
             escape_for_log(uri ? g_uri_get_path(uri) : "-").c_str(),
             status ? status : soup_server_message_get_status(message), milliseconds);
}

}  // namespace demucs
