#include "command_line.h"

#include <cstdio>

namespace demucs {

bool parse_command_line(int &argc, char **&argv, const GOptionEntry *entries,
                        const char *parameters, const char *summary, const char *description) {
  g_set_prgname(argv[0]);
  GOptionContext *context = g_option_context_new(parameters);
  g_option_context_set_summary(context, summary);
  if (description != nullptr) g_option_context_set_description(context, description);
  if (entries != nullptr) g_option_context_add_main_entries(context, entries, nullptr);

  GError *error = nullptr;
  const bool parsed = g_option_context_parse(context, &argc, &argv, &error);
  if (!parsed) {
    std::fprintf(stderr, "%s: %s\nRun '%s --help' for its options.\n", argv[0], error->message,
                 argv[0]);
    g_error_free(error);
  }
  g_option_context_free(context);
  return parsed;
}

}  // namespace demucs
