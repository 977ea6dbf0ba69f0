// One line of progress on stderr: redrawn in place (\r) on a terminal, or
// printed as whole lines when the output is a log or a pipe. The progress bars
// (download, separation) decide what the line says and, off a terminal, how
// often it is printed.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace demucs {

class TerminalProgressLine {
 public:
  /// `redraw_in_place`: true for a terminal.
  TerminalProgressLine(std::FILE *out, bool redraw_in_place);

  bool redraw_in_place() const { return redraw_in_place_; }
  /// True, at most every 100 ms, when a redraw in place is worth doing now.
  bool redraw_due();
  /// Shows `line`: replaces the current line on a terminal, else prints a line.
  void show(const std::string &line);
  /// Shows `line` as the last state and ends the line.
  void show_final(const std::string &line);

 private:
  std::FILE *out_;
  bool redraw_in_place_;
  std::int64_t last_redraw_time_ = 0;
};

}  // namespace demucs
