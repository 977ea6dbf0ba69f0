#include "job.h"

#include "json_reply.h"
#include "path_redaction.h"

#include <glib.h>

#include <cmath>

namespace demucs {

const char *job_status_name(JobStatus status) {
  switch (status) {
    case JobStatus::pending: return "pending";
    case JobStatus::processing: return "processing";
    case JobStatus::completed: return "completed";
    case JobStatus::error: return "error";
  }
  return "error";
}

std::optional<JobStatus> job_status_from_name(const std::string &name) {
  for (JobStatus status : {JobStatus::pending, JobStatus::processing, JobStatus::completed, JobStatus::error})
    if (name == job_status_name(status)) return status;
  return std::nullopt;
}

std::string iso8601_utc(std::int64_t unix_microseconds) {
  GDateTime *time = g_date_time_new_from_unix_utc(unix_microseconds / G_USEC_PER_SEC);
  if (time == nullptr) return "";
  gchar *seconds = g_date_time_format(time, "%Y-%m-%dT%H:%M:%S");
  g_date_time_unref(time);
  const int milliseconds = static_cast<int>((unix_microseconds % G_USEC_PER_SEC) / 1000);
  gchar *text = g_strdup_printf("%s.%03dZ", seconds, milliseconds);
  std::string result = text;
  g_free(seconds);
  g_free(text);
  return result;
}

std::string download_file_name(const Job &job) {
  std::string base = job.filename;
  const std::size_t dot = base.rfind('.');
  if (dot != std::string::npos && dot > 0) base.erase(dot);
  if (base.empty()) base = "audio";
  return base + "_" + job.stem + "." + job.format;
}

JsonNode *job_status_json(const Job &job, std::optional<int> queue_position) {
  JsonObject *object = json_object_new();
  json_object_set_string_member(object, "job_id", job.id.c_str());
  json_object_set_string_member(object, "filename", job.filename.c_str());
  json_object_set_string_member(object, "status", job_status_name(job.status));
  // One decimal is all a progress bar can show.
  json_object_set_double_member(object, "progress", std::round(job.progress * 10.0) / 10.0);
  if (job.status == JobStatus::error)
    json_object_set_string_member(object, "error_message", redact_server_paths(job.error_message).c_str());
  else
    json_object_set_null_member(object, "error_message");
  json_object_set_string_member(object, "created_at", iso8601_utc(job.created_at).c_str());
  if (job.finished_at > 0) json_object_set_string_member(object, "finished_at", iso8601_utc(job.finished_at).c_str());
  json_object_set_string_member(object, "stem", job.stem.c_str());
  json_object_set_string_member(object, "format", job.format.c_str());
  if (queue_position) json_object_set_int_member(object, "queue_position", *queue_position);
  return json_object_node(object);
}

}  // namespace demucs
