// A small blocking HTTP client for the daemon tests (libsoup), with
// multipart/form-data bodies built by hand so that tests can send any body,
// well-formed or not, and a reader of Server-Sent Events.
#pragma once

#include <json-glib/json-glib.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace demucs::testing {

struct HttpResponse {
  unsigned status = 0;  ///< 0 when the request could not be made
  std::string body;
  std::map<std::string, std::string> headers;  ///< names in lower case
  std::string transport_error;

  std::string header(const std::string &name) const;
  /// The body as a JSON object member (string, or number as text); "" if absent.
  std::string json_string(const std::string &member) const;
  double json_number(const std::string &member) const;
  bool json_has(const std::string &member) const;
  bool json_is_null(const std::string &member) const;
  /// The body parsed as JSON (owned by the caller; nullptr if not JSON).
  JsonNode *json() const;
};

/// A multipart/form-data body.
class MultipartBody {
 public:
  MultipartBody();
  MultipartBody &field(const std::string &name, const std::string &value);
  MultipartBody &file(const std::string &name, const std::string &file_name, const std::string &content);
  /// The Content-Type header value (with the boundary).
  std::string content_type() const;
  /// The bytes, closing delimiter included.
  std::string bytes() const;

 private:
  std::string boundary_;
  std::string parts_;
};

/// Request headers, by name.
using Headers = std::map<std::string, std::string>;

HttpResponse http_get(const std::string &url, const Headers &headers = {});
HttpResponse http_delete(const std::string &url, const Headers &headers = {});
HttpResponse http_request(const std::string &method, const std::string &url, const Headers &headers = {});
HttpResponse http_post(const std::string &url, const std::string &content_type, const std::string &body,
                       const Headers &headers = {});
HttpResponse upload(const std::string &base_url, const MultipartBody &body, const Headers &headers = {});
/// Uploads the file at `path` as field "file" named `file_name`, with optional fields.
HttpResponse upload_file(const std::string &base_url, const std::string &path, const std::string &file_name,
                         const std::map<std::string, std::string> &fields = {}, const Headers &headers = {});

/// HTTPS: from now on, a server that shows the certificate in the PEM file
/// `path` is trusted (its name is not checked); "" trusts none again.
void trust_certificate(const std::string &path);

/// One Server-Sent Event.
struct ServerSentEvent {
  std::string event;
  std::string data;
};

/// Reads GET `url` as an event stream until the server closes it or
/// `timeout_seconds` pass; `on_event` is told each event. Returns all events.
std::vector<ServerSentEvent> read_event_stream(const std::string &url, double timeout_seconds,
                                               const std::function<void(const ServerSentEvent &)> &on_event = {});

/// The whole file as bytes.
std::string read_file_bytes(const std::string &path);
void write_file_bytes(const std::string &path, const std::string &bytes);

}  // namespace demucs::testing
