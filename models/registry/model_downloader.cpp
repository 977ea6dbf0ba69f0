#include "registry/model_downloader.h"

#include "registry/file_sha256.h"
#include "registry/partial_file.h"
#include "registry/recorded_sha256.h"

#include <glib.h>
#include <libsoup/soup.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace demucs {

namespace {

constexpr std::size_t kReadBlockBytes = 256 * 1024;
// Seconds without any data before a transfer is abandoned.
constexpr guint kIoTimeoutSeconds = 60;
constexpr const char *kUserAgent = "demucs-vocals";

struct GObjectUnref {
  void operator()(gpointer object) const { g_object_unref(object); }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct GErrorFree {
  void operator()(GError *error) const { g_error_free(error); }
};
using GErrorPtr = std::unique_ptr<GError, GErrorFree>;

struct ChecksumFree {
  void operator()(GChecksum *checksum) const { g_checksum_free(checksum); }
};

// Builds the errors of one request, all naming its URL and where to put the file by hand.
class DownloadFailure {
 public:
  explicit DownloadFailure(const DownloadRequest &request) : request_(request) {}

  DownloadError operator()(const std::string &reason) const {
    return DownloadError("could not download " + request_.url + ": " + reason +
                         "\nYou can download it by hand and put it into the folder " +
                         request_.folder + " as " + request_.file_name);
  }

 private:
  const DownloadRequest &request_;
};

std::int64_t announced_length(SoupMessage *message) {
  SoupMessageHeaders *headers = soup_message_get_response_headers(message);
  if (soup_message_headers_get_encoding(headers) != SOUP_ENCODING_CONTENT_LENGTH) return -1;
  return static_cast<std::int64_t>(soup_message_headers_get_content_length(headers));
}

}  // namespace

void download_verified_file(const DownloadRequest &request, const DownloadProgress &progress,
                            GCancellable *cancellable) {
  if (request.sha256_prefix.empty() && !request.record_sha256)
    throw std::invalid_argument("refusing to download " + request.url +
                                " without a sha256 prefix to check it against or to record its sha256");
  const DownloadFailure failure(request);

  if (g_mkdir_with_parents(request.folder.c_str(), 0755) != 0)
    throw failure("cannot create the folder " + request.folder + ": " + std::strerror(errno));

  GObjectPtr<SoupSession> session(SOUP_SESSION(soup_session_new_with_options(
      "user-agent", kUserAgent, "timeout", kIoTimeoutSeconds, nullptr)));
  GObjectPtr<SoupMessage> message(soup_message_new(SOUP_METHOD_GET, request.url.c_str()));
  if (!message) throw failure("not a valid http(s) URL");

  GError *raw_error = nullptr;
  GObjectPtr<GInputStream> body(
      soup_session_send(session.get(), message.get(), cancellable, &raw_error));
  if (!body) throw failure(GErrorPtr(raw_error)->message);

  const guint status = soup_message_get_status(message.get());
  if (status != SOUP_STATUS_OK) {
    const char *reason = soup_message_get_reason_phrase(message.get());
    throw failure("the server answered HTTP " + std::to_string(status) +
                  (reason && *reason ? std::string(" ") + reason : std::string()));
  }
  const std::int64_t total = announced_length(message.get());

  std::unique_ptr<PartialFile> part;
  try {
    part = std::make_unique<PartialFile>(request.folder, request.file_name);
  } catch (const std::runtime_error &error) {
    throw failure(error.what());
  }

  std::unique_ptr<GChecksum, ChecksumFree> checksum(g_checksum_new(G_CHECKSUM_SHA256));
  std::vector<unsigned char> block(kReadBlockBytes);
  std::int64_t done = 0;
  for (;;) {
    const gssize got =
        g_input_stream_read(body.get(), block.data(), block.size(), cancellable, &raw_error);
    if (got < 0) throw failure(GErrorPtr(raw_error)->message);
    if (got == 0) break;
    try {
      part->write(block.data(), static_cast<std::size_t>(got));
    } catch (const std::runtime_error &error) {
      throw failure(error.what());
    }
    g_checksum_update(checksum.get(), block.data(), got);
    done += got;
    if (progress) progress(done, total);
  }
  if (done == 0 && progress) progress(0, total);
  g_input_stream_close(body.get(), nullptr, nullptr);

  if (total >= 0 && done != total)
    throw failure("the connection ended after " + std::to_string(done) + " of " +
                  std::to_string(total) + " bytes");

  const std::string sha256 = g_checksum_get_string(checksum.get());
  if (!request.sha256_prefix.empty() && !sha256_hex_has_prefix(sha256, request.sha256_prefix))
    throw failure("the file received has sha256 " + sha256 + ", which does not start with " +
                  request.sha256_prefix + " (a damaged transfer, or not the published file" +
                  (request.record_sha256 ? std::string(": its sha256 was recorded in ") + request.file_name +
                                               ".sha256 when it was first downloaded; delete that record to "
                                               "trust a new version"
                                         : std::string()) +
                  ")");

  try {
    // The record first: a record without its file is harmless (the next
    // download is checked against it), a file without its record is not.
    if (request.record_sha256) record_sha256(part->final_path(), sha256);
    part->commit();
  } catch (const std::runtime_error &error) {
    throw failure(error.what());
  }
}

FetchOutcome fetch_model_file(const ModelCache &cache, const ModelFile &file,
                              const DownloadProgress &progress, GCancellable *cancellable) {
  if (cache.state_of(file) == CachedFileState::verified) return FetchOutcome::already_cached;
  // A file with no published checksum: checked against the record of its
  // first download, if any, and recorded.
  const bool unpublished = file.sha256_prefix.empty();
  download_verified_file(
      DownloadRequest{file.url(), cache.folder(), file.file_name, cache.expected_sha256(file), unpublished},
      progress, cancellable);
  return FetchOutcome::downloaded;
}

}  // namespace demucs
