// A separation job as the daemon stores and reports it.
#pragma once

#include <json-glib/json-glib.h>

#include <cstdint>
#include <optional>
#include <string>

namespace demucs {

/// The states of the REST contract, in the order a job goes through them.
enum class JobStatus { pending, processing, completed, error };

/// "pending", "processing", "completed", "error".
const char *job_status_name(JobStatus status);
/// The status called `name`; nullopt for anything else.
std::optional<JobStatus> job_status_from_name(const std::string &name);

struct Job {
  std::string id;          ///< a random UUID
  std::int64_t sequence = 0;  ///< upload order (the queue order)
  std::string filename;    ///< the upload's name, sanitized (what the user sees)
  std::string stem;        ///< vocals, instrumental or a source of the model
  std::string format;      ///< wav, flac, mp3
  JobStatus status = JobStatus::pending;
  double progress = 0.0;   ///< 0..100, never decreasing while processing
  std::string error_message;  ///< empty unless status == error
  std::int64_t created_at = 0;  ///< microseconds since the Unix epoch, UTC
  std::int64_t finished_at = 0;  ///< when it completed or failed (same unit); 0 while not finished
  std::string input_path;   ///< the stored upload
  std::string output_path;  ///< where the result is (or will be) written
  std::string owner;        ///< the node that holds its lease while processing; else empty
  std::int64_t lease_until = 0;  ///< when that lease ends (microseconds since the epoch)
  int attempts = 0;         ///< how many times a node claimed it
};

/// ISO 8601 in UTC with milliseconds: "2026-11-25T14:27:15.123Z".
std::string iso8601_utc(std::int64_t unix_microseconds);

/// The name a download gets: the upload's stem (name without extension),
/// "_", the stem, "." the format: "song_vocals.wav".
std::string download_file_name(const Job &job);

/// The object GET /status returns: job_id, filename, status, progress,
/// error_message (null unless error), created_at, stem, format, and
/// queue_position when given (only for pending jobs).
JsonNode *job_status_json(const Job &job, std::optional<int> queue_position);

}  // namespace demucs
