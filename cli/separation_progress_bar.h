// The progress of one separation on the terminal: percent, time elapsed and an
// estimate of the time left. On a terminal one line is redrawn in place (\r);
// otherwise (a log, a pipe) a line is printed every 10 percent.
#pragma once

#include "terminal_progress_line.h"

#include <cstdint>
#include <cstdio>
#include <string>

namespace demucs {

/// "m:ss", or "h:mm:ss" from an hour on; "--:--" for a negative time (unknown).
std::string format_duration(double seconds);

/// "label   42%  elapsed 0:12  left 0:17"; the time left is estimated from the
/// rate so far ("--:--" at 0 percent).
std::string format_separation_progress(const std::string &label, double percent, double elapsed_seconds);

class SeparationProgressBar {
 public:
  /// `redraw_in_place`: true for a terminal. The clock starts now.
  SeparationProgressBar(std::string label, std::FILE *out, bool redraw_in_place);

  /// Reports the percent done (the pipeline's on_progress).
  void update(double percent);
  /// Prints the final state and ends the line. Nothing if update() was never called.
  void finish();

 private:
  void print(bool final_line);

  std::string label_;
  TerminalProgressLine line_;
  std::int64_t start_time_;
  double percent_ = 0.0;
  int last_step_printed_ = 0;  // tenths already printed when not in place
  bool started_ = false;
};

}  // namespace demucs
