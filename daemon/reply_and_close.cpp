#include "reply_and_close.h"

#include "access_log.h"
#include "json_reply.h"
#include "request_deadline.h"

#include <string>

namespace demucs {

namespace {

constexpr gsize kMaxDrainBytes = 8 * 1024 * 1024;
constexpr guint kMaxDrainMs = 2000;

// One closing connection: the response to write, then the drain.
struct ClosingConnection {
  GIOStream *stream = nullptr;
  std::string response;
  char buffer[16 * 1024];
  gsize drained = 0;
  GCancellable *cancellable = g_cancellable_new();
  guint deadline = 0;

  ~ClosingConnection() {
    if (deadline) g_source_remove(deadline);
    g_object_unref(cancellable);
    g_io_stream_close_async(stream, G_PRIORITY_DEFAULT, nullptr, nullptr, nullptr);
    g_object_unref(stream);
  }

  void drain() {
    g_input_stream_read_async(g_io_stream_get_input_stream(stream), buffer, sizeof buffer, G_PRIORITY_DEFAULT,
                              cancellable, on_read, this);
  }

  static void on_written(GObject *out, GAsyncResult *result, gpointer data) {
    auto *self = static_cast<ClosingConnection *>(data);
    if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(out), result, nullptr, nullptr)) {
      delete self;
      return;
    }
    self->deadline = g_timeout_add(kMaxDrainMs, on_deadline, self);
    self->drain();
  }

  static void on_read(GObject *in, GAsyncResult *result, gpointer data) {
    auto *self = static_cast<ClosingConnection *>(data);
    const gssize got = g_input_stream_read_finish(G_INPUT_STREAM(in), result, nullptr);
    if (got <= 0 || (self->drained += static_cast<gsize>(got)) >= kMaxDrainBytes) {
      delete self;
      return;
    }
    self->drain();
  }

  static gboolean on_deadline(gpointer data) {
    auto *self = static_cast<ClosingConnection *>(data);
    self->deadline = 0;
    g_cancellable_cancel(self->cancellable);  // on_read then ends it
    return G_SOURCE_REMOVE;
  }
};

std::string response_text(SoupServerMessage *message, guint status, const std::string &text) {
  JsonObject *object = json_object_new();
  json_object_set_string_member(object, "error", text.c_str());
  JsonNode *node = json_object_node(object);
  const std::string body = json_text(node) + "\n";
  json_node_unref(node);

  std::string response = "HTTP/1.1 " + std::to_string(status) + " " + status_phrase(status) + "\r\n";
  SoupMessageHeaders *headers = soup_server_message_get_response_headers(message);
  soup_message_headers_remove(headers, "Connection");
  soup_message_headers_remove(headers, "Content-Length");
  soup_message_headers_remove(headers, "Content-Type");
  soup_message_headers_remove(headers, "Transfer-Encoding");
  SoupMessageHeadersIter iter;
  const char *name = nullptr;
  const char *value = nullptr;
  soup_message_headers_iter_init(&iter, headers);
  while (soup_message_headers_iter_next(&iter, &name, &value))
    response += std::string(name) + ": " + value + "\r\n";
  response += "Content-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\n";
  response += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return response;
}

}  // namespace

bool request_has_body(SoupServerMessage *message) {
  SoupMessageHeaders *headers = soup_server_message_get_request_headers(message);
  switch (soup_message_headers_get_encoding(headers)) {
    case SOUP_ENCODING_CONTENT_LENGTH:
      return soup_message_headers_get_content_length(headers) > 0;
    case SOUP_ENCODING_NONE:
      return false;
    default:
      return true;
  }
}

void reply_error_and_close(SoupServerMessage *message, guint status, const std::string &text) {
  std::string response = response_text(message, status, text);
  log_request(message, status);
  end_request_deadline(message);
  GIOStream *stream = soup_server_message_steal_connection(message);
  if (stream == nullptr) return;  // the client is gone already
  auto *closing = new ClosingConnection;
  closing->stream = stream;
  closing->response = std::move(response);
  g_output_stream_write_all_async(g_io_stream_get_output_stream(closing->stream), closing->response.data(),
                                  closing->response.size(), G_PRIORITY_DEFAULT, closing->cancellable,
                                  ClosingConnection::on_written, closing);
}

}  // namespace demucs
