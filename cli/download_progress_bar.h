// The progress of one download on the terminal: percent, megabytes and speed.
// On a terminal one line is redrawn in place (\r); otherwise (a log, a pipe)
// a line is printed every quarter of the file, so logs stay short.
#pragma once

#include "terminal_progress_line.h"

#include <cstdint>
#include <cstdio>
#include <string>

namespace demucs {

/// "label  42%  35.2/84.1 MB  12.3 MB/s" (no percent and total when total < 0).
std::string format_download_progress(const std::string &label, std::int64_t done,
                                     std::int64_t total, double seconds);

class DownloadProgressBar {
 public:
  /// `redraw_in_place`: true for a terminal.
  DownloadProgressBar(std::string label, std::FILE *out, bool redraw_in_place);

  /// Reports the bytes received so far (the downloader's DownloadProgress).
  void update(std::int64_t done, std::int64_t total);
  /// Prints the final state and ends the line. Nothing if update() was never called.
  void finish();

 private:
  void print(bool final_line);

  std::string label_;
  TerminalProgressLine line_;
  std::int64_t start_time_;
  std::int64_t done_ = 0;
  std::int64_t total_ = -1;
  int last_step_printed_ = 0;  // quarters (or 10 MB steps) already printed when not in place
  bool started_ = false;
};

}  // namespace demucs
