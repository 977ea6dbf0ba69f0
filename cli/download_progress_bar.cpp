#include "download_progress_bar.h"

#include <glib.h>

#include <utility>

namespace demucs {

namespace {

constexpr double kBytesPerMegabyte = 1e6;
// Without a known total, a line every this many bytes when not redrawing in place.
constexpr std::int64_t kUnknownTotalStepBytes = 10 * 1000 * 1000;
constexpr int kStepsPerFile = 4;

}  // namespace

std::string format_download_progress(const std::string &label, std::int64_t done,
                                     std::int64_t total, double seconds) {
  const double speed = seconds > 0 ? done / seconds / kBytesPerMegabyte : 0.0;
  gchar *text;
  if (total > 0) {
    const int percent = static_cast<int>(done * 100 / total);
    text = g_strdup_printf("%s  %3d%%  %.1f/%.1f MB  %.1f MB/s", label.c_str(), percent,
                           done / kBytesPerMegabyte, total / kBytesPerMegabyte, speed);
  } else {
    text = g_strdup_printf("%s  %.1f MB  %.1f MB/s", label.c_str(), done / kBytesPerMegabyte,
                           speed);
  }
  std::string line = text;
  g_free(text);
  return line;
}

DownloadProgressBar::DownloadProgressBar(std::string label, std::FILE *out, bool redraw_in_place)
    : label_(std::move(label)),
      line_(out, redraw_in_place),
      start_time_(g_get_monotonic_time()) {}

void DownloadProgressBar::update(std::int64_t done, std::int64_t total) {
  started_ = true;
  done_ = done;
  total_ = total;
  if (line_.redraw_in_place()) {
    if (line_.redraw_due()) print(false);
    return;
  }
  const int step = total > 0 ? static_cast<int>(done * kStepsPerFile / total)
                             : static_cast<int>(done / kUnknownTotalStepBytes);
  // The last quarter is the final line, printed by finish().
  if (step > last_step_printed_ && (total <= 0 || step < kStepsPerFile)) {
    last_step_printed_ = step;
    print(false);
  }
}

void DownloadProgressBar::finish() {
  if (!started_) return;
  print(true);
}

void DownloadProgressBar::print(bool final_line) {
  const double seconds = (g_get_monotonic_time() - start_time_) / 1e6;
  const std::string line = format_download_progress(label_, done_, total_, seconds);
  if (final_line)
    line_.show_final(line);
  else
    line_.show(line);
}

}  // namespace demucs
