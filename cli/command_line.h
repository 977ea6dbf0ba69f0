// Option parsing shared by the subcommands: GOptionContext with the program
// name set to "demucs-vocals <command>" so that --help and errors read right.
#pragma once

#include <glib.h>

namespace demucs {

/// Parses `argc`/`argv` (as a Command receives them) with `entries`, leaving the
/// remaining arguments in argv[1..argc). `parameters` and `summary` describe the
/// command for --help, `description` goes below the options. Prints the error
/// and returns false on a bad option; --help prints and exits 0.
bool parse_command_line(int &argc, char **&argv, const GOptionEntry *entries,
                        const char *parameters, const char *summary, const char *description);

}  // namespace demucs
