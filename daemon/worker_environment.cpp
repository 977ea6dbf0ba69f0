#include "worker_environment.h"

#include <glib.h>

#include <algorithm>

namespace demucs {

namespace {

bool starts_with(const std::string &text, const char *prefix) { return text.rfind(prefix, 0) == 0; }

bool ends_with(const std::string &text, const std::string &suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

bool withheld_from_workers(const std::string &name) {
  g_autofree gchar *upper = g_ascii_strup(name.c_str(), -1);
  const std::string capitals = upper;
  if (starts_with(capitals, "DEMUCS_VOCALSD_") || starts_with(capitals, "PG")) return true;
  if (capitals == "NOTIFY_SOCKET" || starts_with(capitals, "LISTEN_")) return true;
  for (const char *word : {"TOKEN", "PASSWORD", "PASSWD", "SECRET", "CREDENTIAL", "DATABASE_URL"})
    if (capitals.find(word) != std::string::npos) return true;
  return ends_with(capitals, "_KEY") || capitals == "KEY";
}

std::vector<std::string> worker_environment(const std::vector<std::string> &environment) {
  std::vector<std::string> kept;
  std::copy_if(environment.begin(), environment.end(), std::back_inserter(kept),
               [](const std::string &entry) { return !withheld_from_workers(entry.substr(0, entry.find('='))); });
  return kept;
}

}  // namespace demucs
