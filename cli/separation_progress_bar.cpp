#include "separation_progress_bar.h"

#include <glib.h>

#include <cmath>
#include <utility>

namespace demucs {

namespace {

constexpr int kStepsPerRun = 10;
constexpr int kSecondsPerMinute = 60;
constexpr int kSecondsPerHour = 3600;

}  // namespace

std::string format_duration(double seconds) {
  if (seconds < 0 || !std::isfinite(seconds)) return "--:--";
  const long whole = std::lround(seconds);
  const long hours = whole / kSecondsPerHour;
  const long minutes = whole % kSecondsPerHour / kSecondsPerMinute;
  const long rest = whole % kSecondsPerMinute;
  gchar *text = hours > 0 ? g_strdup_printf("%ld:%02ld:%02ld", hours, minutes, rest)
                          : g_strdup_printf("%ld:%02ld", minutes, rest);
  std::string duration = text;
  g_free(text);
  return duration;
}

std::string format_separation_progress(const std::string &label, double percent, double elapsed_seconds) {
  const double left_seconds = percent > 0 ? elapsed_seconds * (100.0 - percent) / percent : -1.0;
  gchar *text = g_strdup_printf("%s  %3d%%  elapsed %s  left %s", label.c_str(), static_cast<int>(percent),
                                format_duration(elapsed_seconds).c_str(), format_duration(left_seconds).c_str());
  std::string line = text;
  g_free(text);
  return line;
}

SeparationProgressBar::SeparationProgressBar(std::string label, std::FILE *out, bool redraw_in_place)
    : label_(std::move(label)), line_(out, redraw_in_place), start_time_(g_get_monotonic_time()) {}

void SeparationProgressBar::update(double percent) {
  started_ = true;
  percent_ = percent;
  if (line_.redraw_in_place()) {
    if (line_.redraw_due()) print(false);
    return;
  }
  const int step = static_cast<int>(percent * kStepsPerRun / 100.0);
  // The last tenth is the final line, printed by finish().
  if (step > last_step_printed_ && step < kStepsPerRun) {
    last_step_printed_ = step;
    print(false);
  }
}

void SeparationProgressBar::finish() {
  if (!started_) return;
  print(true);
}

void SeparationProgressBar::print(bool final_line) {
  const double seconds = (g_get_monotonic_time() - start_time_) / 1e6;
  const std::string line = format_separation_progress(label_, percent_, seconds);
  if (final_line)
    line_.show_final(line);
  else
    line_.show(line);
}

}  // namespace demucs
