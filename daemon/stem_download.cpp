#include "stem_download.h"

#include "job_stems.h"
#include "json_reply.h"
#include "path_redaction.h"
#include "security_headers.h"
#include "streamed_file.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace demucs {

namespace {

const char *content_type(const std::string &format) {
  if (format == "zip") return "application/zip";
  if (format == "flac") return "audio/flac";
  if (format == "mp3") return "audio/mpeg";
  return "audio/wav";
}

std::string joined(const std::vector<std::string> &items) {
  std::string text;
  for (const auto &item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

}  // namespace

void reply_result_file(SoupServerMessage *message, const std::string &path, const std::string &format,
                       const std::string &name) {
  SoupMessageHeaders *headers = soup_server_message_get_response_headers(message);
  soup_message_headers_set_content_type(headers, content_type(format), nullptr);
  soup_message_headers_replace(headers, "Content-Disposition", attachment_disposition(name).c_str());
  std::string error;
  if (!reply_streamed_file(message, path, error)) {
    soup_message_headers_remove(headers, "Content-Disposition");
    reply_error(message, SOUP_STATUS_NOT_FOUND, "The result of this job is gone: " + redact_server_paths(error) + ".");
  }
}

void reply_stem_file(SoupServerMessage *message, const Job &job, const std::string &stem) {
  const std::vector<std::string> stems = produced_stems(job);
  if (std::find(stems.begin(), stems.end(), stem) == stems.end()) {
    reply_error(message, SOUP_STATUS_NOT_FOUND,
                "This job has no stem \"" + stem + "\"; its stems: " + joined(stems) + ".");
    return;
  }
  const std::string path = job_has_several_stems(job) ? job_stem_path(job, stem) : job.output_path;
  reply_result_file(message, path, job.format, stem_download_name(job, stem));
}

void reply_stem_archive(SoupServerMessage *message, const Job &job) {
  reply_result_file(message, job_stem_archive_path(job), "zip", stem_archive_download_name(job));
}

std::pair<std::string, std::string> stem_download_route(const std::string &path) {
  const std::string prefix = "/download/";
  if (path.rfind(prefix, 0) != 0) return {};
  const std::string rest = path.substr(prefix.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) return {};
  const std::string stem = rest.substr(slash + 1);
  if (stem.find('/') != std::string::npos) return {};
  return {rest.substr(0, slash), stem};
}

}  // namespace demucs
