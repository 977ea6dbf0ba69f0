// A subcommand of the demucs-vocals program (`demucs-vocals fetch ...`).
// To add one: write <name>_command.{h,cpp} exposing a Command, list it in
// main.cpp's command table and in cli/meson.build.
#pragma once

namespace demucs {

struct Command {
  const char *name;      ///< the word after demucs-vocals
  const char *synopsis;  ///< arguments, for the top-level usage ("MODEL...")
  const char *summary;   ///< one line for the top-level usage
  /// Runs the command; argv[0] is "demucs-vocals <name>", then its arguments.
  /// Returns the process exit status.
  int (*run)(int argc, char **argv);
};

/// Exit status for wrong usage (unknown option or command, missing argument).
inline constexpr int kUsageExitStatus = 2;

}  // namespace demucs
