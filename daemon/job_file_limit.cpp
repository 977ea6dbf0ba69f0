#include "job_file_limit.h"

#include "job_stems.h"

#include <algorithm>
#include <cmath>

namespace demucs {

namespace {

constexpr double kMostSampleRate = 48000;  // the models run at 44.1 kHz; MP3 may be resampled to 48
constexpr double kChannels = 2;
constexpr double kMostBytesPerSample = 4;  // float WAV; FLAC's verbatim 32-bit frames
constexpr double kMostMp3BytesPerSecond = 320000 / 8;
constexpr double kRoom = 1.1;
// A local and a central header, the name and the ZIP64 extras, for each
// entry (about 150 bytes), and the end records: far under this.
constexpr std::int64_t kArchiveHeaderBytes = 64 * 1024;
constexpr std::int64_t kLeastLimit = 64 * 1024 * 1024;

}  // namespace

std::int64_t stem_file_bytes(OutputFormat format, double seconds) {
  const double per_second = format == OutputFormat::mp3 ? kMostMp3BytesPerSecond
                                                        : kMostSampleRate * kChannels * kMostBytesPerSample;
  return std::llround(seconds * per_second * kRoom);
}

std::int64_t job_file_size_limit(std::size_t stem_count, OutputFormat format, double max_audio_seconds) {
  if (max_audio_seconds <= 0) return 0;
  const std::int64_t stems = static_cast<std::int64_t>(std::max<std::size_t>(stem_count, 1));
  std::int64_t largest = stems * stem_file_bytes(format, max_audio_seconds);
  if (stems > 1) largest += kArchiveHeaderBytes;
  return std::max(largest, kLeastLimit);
}

WorkerLimits job_worker_limits(const Job &job, WorkerLimits limits, double max_audio_seconds) {
  const std::vector<std::string> stems = requested_stems(job);
  const std::size_t count = stems == std::vector<std::string>{"all"} ? kMostStemsOfAModel : stems.size();
  limits.file_bytes =
      job_file_size_limit(count, output_format_from_name(job.format).value_or(OutputFormat::wav), max_audio_seconds);
  return limits;
}

}  // namespace demucs
