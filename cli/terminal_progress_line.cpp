#include "terminal_progress_line.h"

#include <glib.h>

namespace demucs {

namespace {

constexpr std::int64_t kRedrawIntervalMicroseconds = 100 * 1000;

}  // namespace

TerminalProgressLine::TerminalProgressLine(std::FILE *out, bool redraw_in_place)
    : out_(out), redraw_in_place_(redraw_in_place) {}

bool TerminalProgressLine::redraw_due() {
  const std::int64_t now = g_get_monotonic_time();
  if (now - last_redraw_time_ < kRedrawIntervalMicroseconds) return false;
  last_redraw_time_ = now;
  return true;
}

void TerminalProgressLine::show(const std::string &line) {
  if (redraw_in_place_) {
    // \033[K clears what a longer previous line left on the right.
    std::fprintf(out_, "\r%s\033[K", line.c_str());
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void TerminalProgressLine::show_final(const std::string &line) {
  show(line);
  if (redraw_in_place_) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

}  // namespace demucs
