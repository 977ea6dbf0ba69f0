// The terminal progress of `demucs-vocals separate`: percent, elapsed, time
// left; in place on a terminal, a line every 10 percent otherwise.
#include "separation_progress_bar.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace demucs {
namespace {

// Collects what a progress bar prints.
class CapturedOutput {
 public:
  CapturedOutput() : file_(open_memstream(&buffer_, &size_)) {}
  ~CapturedOutput() {
    if (file_) std::fclose(file_);
    std::free(buffer_);
  }
  std::FILE *file() const { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(buffer_, size_);
  }

 private:
  char *buffer_ = nullptr;
  std::size_t size_ = 0;
  std::FILE *file_;
};

std::size_t count(const std::string &text, const std::string &part) {
  std::size_t found = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++found;
  return found;
}

TEST(SeparationProgress, DurationsReadAsClockTimes) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(9.6), "0:10");
  EXPECT_EQ(format_duration(75), "1:15");
  EXPECT_EQ(format_duration(3725), "1:02:05");
  EXPECT_EQ(format_duration(-1), "--:--");
}

TEST(SeparationProgress, LineShowsPercentElapsedAndTimeLeft) {
  EXPECT_EQ(format_separation_progress("song.mp3 (vocals)", 25.0, 10.0),
            "song.mp3 (vocals)   25%  elapsed 0:10  left 0:30");
  EXPECT_EQ(format_separation_progress("s", 99.9, 100.0), "s   99%  elapsed 1:40  left 0:00");
  EXPECT_EQ(format_separation_progress("s", 100.0, 61.0), "s  100%  elapsed 1:01  left 0:00");
  EXPECT_EQ(format_separation_progress("s", 0.0, 3.0), "s    0%  elapsed 0:03  left --:--");
}

TEST(SeparationProgressBar, OutsideATerminalPrintsATenthAtATime) {
  CapturedOutput output;
  SeparationProgressBar bar("song.mp3 (vocals)", output.file(), false);
  for (double percent = 0.5; percent <= 100.0; percent += 0.5) bar.update(percent);
  bar.finish();
  const std::string text = output.text();
  EXPECT_EQ(count(text, "\n"), 10u) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("song.mp3 (vocals)   10%  elapsed 0:00  left "), std::string::npos) << text;
  EXPECT_NE(text.find("song.mp3 (vocals)   90%  elapsed "), std::string::npos) << text;
  EXPECT_NE(text.find("song.mp3 (vocals)  100%  elapsed 0:00  left 0:00\n"), std::string::npos) << text;
}

TEST(SeparationProgressBar, OnATerminalRedrawsOneLineInPlace) {
  CapturedOutput output;
  SeparationProgressBar bar("song.mp3 (vocals)", output.file(), true);
  bar.update(10.0);
  bar.update(20.0);  // within 100 ms of the first: not drawn
  bar.update(100.0);
  bar.finish();
  const std::string text = output.text();
  EXPECT_EQ(count(text, "\r"), 2u) << text;
  EXPECT_EQ(count(text, "\n"), 1u) << text;
  EXPECT_EQ(text.rfind("\rsong.mp3 (vocals)  100%  elapsed 0:00  left 0:00\033[K\n"),
            text.size() - std::string("\rsong.mp3 (vocals)  100%  elapsed 0:00  left 0:00\033[K\n").size())
      << text;
  EXPECT_EQ(text.find("20%"), std::string::npos) << text;
}

TEST(SeparationProgressBar, PrintsNothingWithoutProgress) {
  CapturedOutput output;
  {
    SeparationProgressBar bar("song.mp3 (vocals)", output.file(), true);
    bar.finish();
  }
  EXPECT_EQ(output.text(), "");
}

}  // namespace
}  // namespace demucs
