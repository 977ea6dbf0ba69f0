#include "streamed_file.h"

#include "access_log.h"
#include "daemon_log.h"

#include <gio/gio.h>

namespace demucs {

namespace {

constexpr gsize kPieceBytes = 64 * 1024;
constexpr const char *kStreamedFileKey = "demucs-streamed-file";

// Lives on the message (its data): goes when the message goes, cancelling
// the read in flight, whose callback then touches nothing.
class StreamedFile {
 public:
  StreamedFile(SoupServerMessage *message, GInputStream *stream, goffset length, std::string path)
      : message_(message), stream_(stream), remaining_(length), path_(std::move(path)) {}
  ~StreamedFile() {
    g_cancellable_cancel(cancellable_);
    g_object_unref(cancellable_);
    g_object_unref(stream_);
  }
  StreamedFile(const StreamedFile &) = delete;
  StreamedFile &operator=(const StreamedFile &) = delete;

  void start() {
    g_signal_connect(message_, "wrote-chunk", G_CALLBACK(on_wrote_chunk), this);
    read_next();
  }

 private:
  SoupMessageBody *body() const { return soup_server_message_get_response_body(message_); }

  void read_next() {
    if (remaining_ == 0) return;
    const gsize size = remaining_ < static_cast<goffset>(kPieceBytes) ? static_cast<gsize>(remaining_) : kPieceBytes;
    g_input_stream_read_bytes_async(stream_, size, G_PRIORITY_DEFAULT, cancellable_, on_read, this);
  }

  static void on_wrote_chunk(SoupServerMessage *, gpointer data) { static_cast<StreamedFile *>(data)->read_next(); }

  static void on_read(GObject *source, GAsyncResult *result, gpointer data) {
    GError *error = nullptr;
    GBytes *bytes = g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), result, &error);
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {  // `data` is gone
      g_error_free(error);
      return;
    }
    auto *self = static_cast<StreamedFile *>(data);
    if (bytes == nullptr || g_bytes_get_size(bytes) == 0) {
      self->cut(error ? error->message : "the file is shorter than when the download began");
      if (bytes) g_bytes_unref(bytes);
      g_clear_error(&error);
      return;
    }
    self->remaining_ -= static_cast<goffset>(g_bytes_get_size(bytes));
    soup_message_body_append_bytes(self->body(), bytes);
    g_bytes_unref(bytes);
    if (self->remaining_ == 0) soup_message_body_complete(self->body());
    soup_server_message_unpause(self->message_);
  }

  // The file shrank or could not be read: the response cannot be whole.
  // Closing the connection short of Content-Length tells the client so.
  void cut(const char *why) {
    daemon_log("download of %s cut short: %s", escape_for_log(path_).c_str(), escape_for_log(why).c_str());
    GIOStream *connection = soup_server_message_steal_connection(message_);  // frees the message, and this
    if (connection == nullptr) return;
    g_io_stream_close(connection, nullptr, nullptr);
    g_object_unref(connection);
  }

  SoupServerMessage *message_;
  GInputStream *stream_;
  goffset remaining_;
  std::string path_;
  GCancellable *cancellable_ = g_cancellable_new();
};

}  // namespace

bool reply_streamed_file(SoupServerMessage *message, const std::string &path, std::string &error) {
  GFile *file = g_file_new_for_path(path.c_str());
  GError *failure = nullptr;
  GFileInputStream *stream = g_file_read(file, nullptr, &failure);
  g_object_unref(file);
  GFileInfo *info = stream ? g_file_input_stream_query_info(stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, nullptr, &failure)
                           : nullptr;
  if (info == nullptr) {
    error = failure ? failure->message : "the file cannot be read";
    g_clear_error(&failure);
    g_clear_object(&stream);
    return false;
  }
  const goffset size = g_file_info_get_size(info);
  g_object_unref(info);

  SoupMessageHeaders *request = soup_server_message_get_request_headers(message);
  SoupMessageHeaders *response = soup_server_message_get_response_headers(message);
  goffset start = 0;
  goffset length = size;
  guint status = SOUP_STATUS_OK;
  SoupRange *ranges = nullptr;
  int count = 0;
  if (soup_message_headers_get_ranges(request, size, &ranges, &count)) {
    // One range is served; several (rare, multipart/byteranges) get the whole file.
    if (count == 1 && g_seekable_seek(G_SEEKABLE(stream), ranges[0].start, G_SEEK_SET, nullptr, nullptr)) {
      start = ranges[0].start;
      length = ranges[0].end - ranges[0].start + 1;
      status = SOUP_STATUS_PARTIAL_CONTENT;
      soup_message_headers_set_content_range(response, start, ranges[0].end, size);
    }
    soup_message_headers_free_ranges(request, ranges);
  }
  soup_message_headers_replace(response, "Accept-Ranges", "bytes");
  soup_message_headers_set_content_length(response, length);
  soup_server_message_set_status(message, status, nullptr);
  SoupMessageBody *body = soup_server_message_get_response_body(message);
  soup_message_body_set_accumulate(body, FALSE);  // each piece is dropped once written
  if (length == 0 || g_strcmp0(soup_server_message_get_method(message), "HEAD") == 0) {
    g_object_unref(stream);
    soup_message_body_complete(body);
    return true;
  }
  auto *streamed = new StreamedFile(message, G_INPUT_STREAM(stream), length, path);
  g_object_set_data_full(G_OBJECT(message), kStreamedFileKey, streamed,
                         [](gpointer data) { delete static_cast<StreamedFile *>(data); });
  streamed->start();
  return true;
}

}  // namespace demucs
