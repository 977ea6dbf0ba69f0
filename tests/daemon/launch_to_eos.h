// Runs a gst-launch description to its end: how the daemon tests make their
// input files (MP3s, FLACs) from the fixture mix.
#pragma once

#include <string>

namespace demucs::testing {

/// Plays `description` until EOS (a test failure on an error or after 120 s).
void run_launch(const std::string &description);

}  // namespace demucs::testing
