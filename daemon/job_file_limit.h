// The largest file a job's worker may write (its RLIMIT_FSIZE, which is per
// file). A one-stem job writes its stem; a multi-stem job writes each stem
// to a file of its own and then the ZIP of them all (stem_archive.h), which
// is the largest: the limit is every stem asked for, each as long as the
// longest audio accepted (--max-duration), in the job's format, plus the
// archive's headers. Sized for one stem, stem=all on htdemucs (5 stems)
// failed above about 7 minutes of audio and htdemucs_6s (7) above 5.
#pragma once

#include "job.h"
#include "output_format.h"
#include "worker_process.h"

#include <cstddef>
#include <cstdint>

namespace demucs {

/// The stems "all" may produce when the model is a checkpoint given by path
/// (its stems unknown until it runs): htdemucs_6s's six and the instrumental.
inline constexpr std::size_t kMostStemsOfAModel = 7;

/// The most bytes one stem of `seconds` of audio takes in `format`: 48 kHz
/// stereo at 4 bytes a sample for WAV (32-bit float) and FLAC (verbatim
/// frames at worst), 320 kbit/s for MP3; 10 % more for headers and framing.
std::int64_t stem_file_bytes(OutputFormat format, double seconds);

/// The limit for a job of `stem_count` stems in `format`, at most
/// `max_audio_seconds` long: one stem's bytes for one stem, every stem's and
/// the archive's headers for several; 64 MiB at least (GStreamer's registry
/// cache may be rewritten); 0 (no limit) when the audio's length has none.
std::int64_t job_file_size_limit(std::size_t stem_count, OutputFormat format, double max_audio_seconds);

/// `limits` with file_bytes sized for `job` (its stems and format).
WorkerLimits job_worker_limits(const Job &job, WorkerLimits limits, double max_audio_seconds);

}  // namespace demucs
