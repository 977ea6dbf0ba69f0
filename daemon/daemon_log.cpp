#include "daemon_log.h"

#include <glib.h>

#include <cstdarg>
#include <cstdio>

namespace demucs {

void daemon_log(const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  gchar *message = g_strdup_vprintf(format, arguments);
  va_end(arguments);
  GDateTime *now = g_date_time_new_now_utc();
  gchar *stamp = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");
  std::fprintf(stdout, "%s.%03dZ %s\n", stamp, g_date_time_get_microsecond(now) / 1000, message);
  std::fflush(stdout);
  g_free(stamp);
  g_date_time_unref(now);
  g_free(message);
}

}  // namespace demucs
