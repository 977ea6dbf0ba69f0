// The largest file a job's worker may write (job_file_limit.h), in figures:
// one stem of 30 minutes, and every stem of stem=all in one archive.
#include "job_file_limit.h"

#include <gtest/gtest.h>

namespace demucs {
namespace {

constexpr double kThirtyMinutes = 30 * 60;
// What a stem really takes: 44.1 kHz stereo 32-bit float WAV.
constexpr std::int64_t kRealWavBytesPerSecond = 44100 * 2 * 4;

TEST(JobFileLimit, OneStemIsFloatStereoAt48kHzWithRoom) {
  EXPECT_EQ(stem_file_bytes(OutputFormat::wav, kThirtyMinutes), 760320000);  // 1800 s * 384000 B/s * 1.1
  EXPECT_EQ(stem_file_bytes(OutputFormat::flac, kThirtyMinutes), 760320000);
  EXPECT_EQ(stem_file_bytes(OutputFormat::mp3, kThirtyMinutes), 79200000);  // 320 kbit/s * 1.1
  EXPECT_EQ(job_file_size_limit(1, OutputFormat::wav, kThirtyMinutes), 760320000);
}

// The limit was one stem's: 760,320,000 bytes, which 5 stems of real WAV
// pass after 431 s (7.2 min) and 7 stems after 308 s (5.1 min), the figures.
TEST(JobFileLimit, SeveralStemsGetTheirArchive) {
  EXPECT_EQ(760320000 / (5 * kRealWavBytesPerSecond), 431);
  EXPECT_EQ(760320000 / (7 * kRealWavBytesPerSecond), 307);
  const std::int64_t five = job_file_size_limit(5, OutputFormat::wav, kThirtyMinutes);
  const std::int64_t seven = job_file_size_limit(7, OutputFormat::wav, kThirtyMinutes);
  EXPECT_EQ(five, 5 * 760320000LL + 65536);
  EXPECT_EQ(seven, 7 * 760320000LL + 65536);
  // The archive of 30 minutes of real stems fits, with room for a longer decode (the worker
  // stops at most a buffer past --max-duration).
  EXPECT_GT(five, 5 * kRealWavBytesPerSecond * kThirtyMinutes * 1.08);
  EXPECT_GT(seven, 7 * kRealWavBytesPerSecond * kThirtyMinutes * 1.08);
  EXPECT_GT(seven, 4LL << 30) << "past 4 GiB: the archive needs ZIP64";
  EXPECT_EQ(job_file_size_limit(2, OutputFormat::mp3, kThirtyMinutes), 2 * 79200000LL + 65536);
}

TEST(JobFileLimit, NoLengthLimitNoSizeLimitAndNeverUnder64MiB) {
  EXPECT_EQ(job_file_size_limit(5, OutputFormat::wav, 0), 0);
  EXPECT_EQ(job_file_size_limit(1, OutputFormat::wav, 6), 64 << 20);
  EXPECT_EQ(job_file_size_limit(5, OutputFormat::mp3, 60), 64 << 20);
}

TEST(JobFileLimit, AJobsLimitCountsItsStems) {
  WorkerLimits base;
  base.memory_bytes = 123;
  base.file_bytes = 1;
  Job job;
  job.format = "wav";
  job.stem = "vocals";
  EXPECT_EQ(job_worker_limits(job, base, kThirtyMinutes).file_bytes, 760320000);
  EXPECT_EQ(job_worker_limits(job, base, kThirtyMinutes).memory_bytes, 123) << "the rest kept";
  job.stem = "drums,bass,other,vocals,instrumental";  // stem=all on htdemucs, as the upload expands it
  EXPECT_EQ(job_worker_limits(job, base, kThirtyMinutes).file_bytes, 5 * 760320000LL + 65536);
  job.stem = "all";  // a checkpoint given by path: its stems unknown until it runs
  EXPECT_EQ(job_worker_limits(job, base, kThirtyMinutes).file_bytes, 7 * 760320000LL + 65536);
  job.stem = "vocals,instrumental";
  job.format = "mp3";
  EXPECT_EQ(job_worker_limits(job, base, kThirtyMinutes).file_bytes, 2 * 79200000LL + 65536);
}

}  // namespace
}  // namespace demucs
