// The terminal progress of `demucs-vocals fetch`: in place on a terminal,
// a few plain lines otherwise.
#include "download_progress_bar.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace demucs {
namespace {

constexpr std::int64_t kMegabyte = 1000 * 1000;

// Collects what a DownloadProgressBar prints.
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
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++found;
  return found;
}

TEST(DownloadProgress, LineShowsPercentMegabytesAndSpeed) {
  EXPECT_EQ(format_download_progress("htdemucs 955717e8-8726e21a.th", 42 * kMegabyte,
                                     84 * kMegabyte, 2.0),
            "htdemucs 955717e8-8726e21a.th   50%  42.0/84.0 MB  21.0 MB/s");
  EXPECT_EQ(format_download_progress("f", 5 * kMegabyte / 2, -1, 0.5), "f  2.5 MB  5.0 MB/s");
  EXPECT_EQ(format_download_progress("f", 0, 10, 0.0), "f    0%  0.0/0.0 MB  0.0 MB/s");
}

TEST(DownloadProgressBar, OutsideATerminalPrintsAQuarterLineAtATime) {
  CapturedOutput output;
  DownloadProgressBar bar("model.th", output.file(), false);
  for (std::int64_t done = kMegabyte; done <= 100 * kMegabyte; done += kMegabyte)
    bar.update(done, 100 * kMegabyte);
  bar.finish();
  const std::string text = output.text();
  EXPECT_EQ(count(text, "\n"), 4u) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("model.th   25%  25.0/100.0 MB"), std::string::npos) << text;
  EXPECT_NE(text.find("model.th   50%  50.0/100.0 MB"), std::string::npos) << text;
  EXPECT_NE(text.find("model.th   75%  75.0/100.0 MB"), std::string::npos) << text;
  EXPECT_NE(text.find("model.th  100%  100.0/100.0 MB"), std::string::npos) << text;
}

TEST(DownloadProgressBar, WithoutATotalPrintsEveryTenMegabytes) {
  CapturedOutput output;
  DownloadProgressBar bar("model.th", output.file(), false);
  for (std::int64_t done = kMegabyte; done <= 25 * kMegabyte; done += kMegabyte) bar.update(done, -1);
  bar.finish();
  const std::string text = output.text();
  EXPECT_EQ(count(text, "\n"), 3u) << text;
  EXPECT_NE(text.find("model.th  10.0 MB"), std::string::npos) << text;
  EXPECT_NE(text.find("model.th  20.0 MB"), std::string::npos) << text;
  EXPECT_NE(text.find("model.th  25.0 MB"), std::string::npos) << text;
}

TEST(DownloadProgressBar, OnATerminalRedrawsOneLineInPlace) {
  CapturedOutput output;
  DownloadProgressBar bar("model.th", output.file(), true);
  for (std::int64_t done = kMegabyte; done <= 100 * kMegabyte; done += kMegabyte)
    bar.update(done, 100 * kMegabyte);
  bar.finish();
  const std::string text = output.text();
  EXPECT_EQ(count(text, "\n"), 1u) << "one line, ended once";
  EXPECT_GE(count(text, "\r"), 2u) << "the first state and the final one at least";
  EXPECT_EQ(text.substr(0, 1), "\r");
  const std::string ending = "model.th  100%  100.0/100.0 MB";
  EXPECT_NE(text.rfind("\r" + ending), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 4), "\033[K\n");
}

TEST(DownloadProgressBar, PrintsNothingWhenNothingWasDownloaded) {
  CapturedOutput output;
  DownloadProgressBar bar("model.th", output.file(), true);
  bar.finish();
  EXPECT_EQ(output.text(), "");
}

}  // namespace
}  // namespace demucs
