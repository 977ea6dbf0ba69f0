#include "static_files.h"

#include "streamed_file.h"

#include <glib.h>

#include <cstring>

namespace demucs {

namespace {

bool ends_with(const std::string &text, const char *suffix) {
  const std::size_t length = std::strlen(suffix);
  return text.size() >= length && text.compare(text.size() - length, length, suffix) == 0;
}

// The executable's own path, or "".
std::string executable_path() {
  gchar *path = g_file_read_link("/proc/self/exe", nullptr);
  std::string result = path ? path : "";
  g_free(path);
  return result;
}

}  // namespace

std::string default_web_folder() {
  const std::string build_root = DEMUCS_BUILD_ROOT;
  const std::string executable = executable_path();
  if (!executable.empty() && executable.compare(0, build_root.size() + 1, build_root + "/") == 0)
    return DEMUCS_WEB_SOURCE_FOLDER;
  return DEMUCS_WEB_INSTALL_FOLDER;
}

const char *content_type_for(const std::string &file_name) {
  if (ends_with(file_name, ".html")) return "text/html; charset=utf-8";
  if (ends_with(file_name, ".css")) return "text/css; charset=utf-8";
  if (ends_with(file_name, ".js") || ends_with(file_name, ".mjs")) return "text/javascript; charset=utf-8";
  if (ends_with(file_name, ".json")) return "application/json";
  if (ends_with(file_name, ".svg")) return "image/svg+xml";
  if (ends_with(file_name, ".png")) return "image/png";
  if (ends_with(file_name, ".ico")) return "image/x-icon";
  if (ends_with(file_name, ".woff2")) return "font/woff2";
  if (ends_with(file_name, ".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

StaticFiles::StaticFiles(std::string folder) : folder_(std::move(folder)) {}

bool StaticFiles::serve(SoupServerMessage *message, const std::string &request_path) const {
  std::string path = request_path == "/" ? "/index.html" : request_path;
  // Every segment must be a plain name: no "..", no hidden files, no empty segments.
  gchar **segments = g_strsplit(path.c_str() + 1, "/", -1);
  bool safe = segments[0] != nullptr;
  for (gchar **segment = segments; *segment; ++segment)
    if ((*segment)[0] == '\0' || (*segment)[0] == '.' || std::strchr(*segment, '\\')) safe = false;
  g_strfreev(segments);
  if (!safe) return false;

  const std::string file = folder_ + path;
  if (!g_file_test(file.c_str(), G_FILE_TEST_IS_REGULAR)) return false;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers(message);
  soup_message_headers_replace(headers, "Cache-Control", "no-cache");
  soup_message_headers_replace(headers, "X-Content-Type-Options", "nosniff");
  soup_message_headers_set_content_type(headers, content_type_for(file), nullptr);
  std::string error;
  return reply_streamed_file(message, file, error);  // read, never mapped (streamed_file.h)
}

}  // namespace demucs
