#include "http_client.h"

#include <libsoup/soup.h>

#include <fstream>
#include <sstream>

namespace demucs::testing {

namespace {

GTlsCertificate *trusted_certificate = nullptr;

gboolean on_accept_certificate(SoupMessage *, GTlsCertificate *shown, GTlsCertificateFlags, gpointer) {
  return trusted_certificate != nullptr && g_tls_certificate_is_same(shown, trusted_certificate);
}

SoupSession *new_session(guint timeout_seconds = 120) {
  return soup_session_new_with_options("timeout", timeout_seconds, "idle-timeout", 0, nullptr);
}

SoupMessage *new_message(const char *method, const std::string &url, const Headers &headers = {}) {
  SoupMessage *message = soup_message_new(method, url.c_str());
  g_signal_connect(message, "accept-certificate", G_CALLBACK(on_accept_certificate), nullptr);
  for (const auto &header : headers)
    soup_message_headers_replace(soup_message_get_request_headers(message), header.first.c_str(),
                                 header.second.c_str());
  return message;
}

void collect_headers(SoupMessage *message, HttpResponse &response) {
  SoupMessageHeadersIter iter;
  const char *name = nullptr;
  const char *value = nullptr;
  soup_message_headers_iter_init(&iter, soup_message_get_response_headers(message));
  while (soup_message_headers_iter_next(&iter, &name, &value)) {
    gchar *lower = g_ascii_strdown(name, -1);
    response.headers[lower] = value;
    g_free(lower);
  }
}

HttpResponse send(SoupMessage *message) {
  HttpResponse response;
  SoupSession *session = new_session();
  GError *error = nullptr;
  GBytes *body = soup_session_send_and_read(session, message, nullptr, &error);
  if (body == nullptr) {
    response.transport_error = error ? error->message : "unknown error";
    g_clear_error(&error);
  } else {
    gsize size = 0;
    const char *data = static_cast<const char *>(g_bytes_get_data(body, &size));
    response.body.assign(data ? data : "", size);
    g_bytes_unref(body);
  }
  response.status = soup_message_get_status(message);
  collect_headers(message, response);
  g_object_unref(message);
  g_object_unref(session);
  return response;
}

JsonObject *object_of(JsonNode *node) {
  return node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : nullptr;
}

}  // namespace

std::string HttpResponse::header(const std::string &name) const {
  gchar *lower = g_ascii_strdown(name.c_str(), -1);
  auto it = headers.find(lower);
  g_free(lower);
  return it == headers.end() ? "" : it->second;
}

JsonNode *HttpResponse::json() const { return json_from_string(body.c_str(), nullptr); }

std::string HttpResponse::json_string(const std::string &member) const {
  JsonNode *root = json();
  std::string value;
  if (JsonObject *object = object_of(root)) {
    JsonNode *node = json_object_get_member(object, member.c_str());
    if (node && JSON_NODE_HOLDS_VALUE(node)) {
      if (json_node_get_value_type(node) == G_TYPE_STRING)
        value = json_node_get_string(node);
      else
        value = std::to_string(json_node_get_double(node));
    }
  }
  if (root) json_node_unref(root);
  return value;
}

double HttpResponse::json_number(const std::string &member) const {
  JsonNode *root = json();
  double value = -1;
  if (JsonObject *object = object_of(root))
    if (json_object_has_member(object, member.c_str())) value = json_object_get_double_member(object, member.c_str());
  if (root) json_node_unref(root);
  return value;
}

bool HttpResponse::json_has(const std::string &member) const {
  JsonNode *root = json();
  JsonObject *object = object_of(root);
  const bool has = object && json_object_has_member(object, member.c_str());
  if (root) json_node_unref(root);
  return has;
}

bool HttpResponse::json_is_null(const std::string &member) const {
  JsonNode *root = json();
  JsonObject *object = object_of(root);
  const bool null = object && json_object_has_member(object, member.c_str()) &&
                    json_object_get_null_member(object, member.c_str());
  if (root) json_node_unref(root);
  return null;
}

MultipartBody::MultipartBody() {
  gchar *random = g_uuid_string_random();
  boundary_ = std::string("----demucs-test-") + random;
  g_free(random);
}

MultipartBody &MultipartBody::field(const std::string &name, const std::string &value) {
  parts_ += "--" + boundary_ + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
  return *this;
}

MultipartBody &MultipartBody::file(const std::string &name, const std::string &file_name,
                                   const std::string &content) {
  parts_ += "--" + boundary_ + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" +
            file_name + "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + content + "\r\n";
  return *this;
}

std::string MultipartBody::content_type() const { return "multipart/form-data; boundary=" + boundary_; }

std::string MultipartBody::bytes() const { return parts_ + "--" + boundary_ + "--\r\n"; }

void trust_certificate(const std::string &path) {
  g_clear_object(&trusted_certificate);
  if (!path.empty()) trusted_certificate = g_tls_certificate_new_from_file(path.c_str(), nullptr);
}

HttpResponse http_request(const std::string &method, const std::string &url, const Headers &headers) {
  return send(new_message(method.c_str(), url, headers));
}

HttpResponse http_get(const std::string &url, const Headers &headers) { return http_request("GET", url, headers); }

HttpResponse http_delete(const std::string &url, const Headers &headers) {
  return http_request("DELETE", url, headers);
}

HttpResponse http_post(const std::string &url, const std::string &content_type, const std::string &body,
                       const Headers &headers) {
  SoupMessage *message = new_message("POST", url, headers);
  GBytes *bytes = g_bytes_new(body.data(), body.size());
  soup_message_set_request_body_from_bytes(message, content_type.empty() ? nullptr : content_type.c_str(), bytes);
  g_bytes_unref(bytes);
  return send(message);
}

HttpResponse upload(const std::string &base_url, const MultipartBody &body, const Headers &headers) {
  return http_post(base_url + "upload", body.content_type(), body.bytes(), headers);
}

HttpResponse upload_file(const std::string &base_url, const std::string &path, const std::string &file_name,
                         const std::map<std::string, std::string> &fields, const Headers &headers) {
  MultipartBody body;
  body.file("file", file_name, read_file_bytes(path));
  for (const auto &field : fields) body.field(field.first, field.second);
  return upload(base_url, body, headers);
}

std::vector<ServerSentEvent> read_event_stream(const std::string &url, double timeout_seconds,
                                               const std::function<void(const ServerSentEvent &)> &on_event) {
  std::vector<ServerSentEvent> events;
  SoupSession *session = new_session(static_cast<guint>(timeout_seconds));
  SoupMessage *message = new_message("GET", url);
  GInputStream *stream = soup_session_send(session, message, nullptr, nullptr);
  if (stream != nullptr) {
    GDataInputStream *lines = g_data_input_stream_new(stream);
    ServerSentEvent event;
    const gint64 end = g_get_monotonic_time() + static_cast<gint64>(timeout_seconds * G_USEC_PER_SEC);
    while (g_get_monotonic_time() < end) {
      gsize length = 0;
      gchar *line = g_data_input_stream_read_line_utf8(lines, &length, nullptr, nullptr);
      if (line == nullptr) break;  // closed
      std::string text(line, length);
      g_free(line);
      if (!text.empty() && text.back() == '\r') text.pop_back();
      if (text.empty()) {
        if (!event.event.empty() || !event.data.empty()) {
          if (on_event) on_event(event);
          events.push_back(event);
        }
        event = ServerSentEvent();
      } else if (text.rfind("event:", 0) == 0) {
        event.event = text.substr(6);
        event.event.erase(0, event.event.find_first_not_of(' '));
      } else if (text.rfind("data:", 0) == 0) {
        std::string data = text.substr(5);
        if (!data.empty() && data[0] == ' ') data.erase(0, 1);
        event.data += data;
      }
    }
    g_object_unref(lines);
    g_object_unref(stream);
  }
  g_object_unref(message);
  g_object_unref(session);
  return events;
}

std::string read_file_bytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void write_file_bytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

}  // namespace demucs::testing
