#include "request_gate.h"

#include "stem_download.h"

#include "json_reply.h"
#include "reply_and_close.h"
#include "security_headers.h"

#include <glib.h>

namespace demucs {

namespace {

constexpr const char *kBodyBytesKey = "demucs-small-body-bytes";

const char *request_header(SoupServerMessage *message, const char *name) {
  return soup_message_headers_get_one(soup_server_message_get_request_headers(message), name);
}

bool is_method(SoupServerMessage *message, const char *method) {
  return g_strcmp0(soup_server_message_get_method(message), method) == 0;
}

bool starts_with(const std::string &text, const char *prefix) { return text.rfind(prefix, 0) == 0; }

// The job id of /download/ID, /download/ID/STEM and /events/ID (the routes a job key opens).
std::string keyed_job_id(const std::string &path) {
  for (const char *prefix : {"/download/", "/events/"}) {
    if (!starts_with(path, prefix)) continue;
    const std::string id = path.substr(std::string(prefix).size());
    if (id.find('/') == std::string::npos) return id;
    return std::string(prefix) == "/download/" ? stem_download_route(path).first : "";
  }
  return "";
}

}  // namespace

void refuse(SoupServerMessage *message, guint status, const std::string &text) {
  if (request_has_body(message)) {
    reply_error_and_close(message, status, text);
    return;
  }
  reply_error(message, status, text);
}

bool RequestGate::is_api_path(const std::string &path) {
  return path == "/upload" || path == "/jobs" || starts_with(path, "/jobs/") || starts_with(path, "/status/") ||
         starts_with(path, "/download/") || starts_with(path, "/events/");
}

bool RequestGate::has_token(SoupServerMessage *message) const {
  return policy_.authorized(request_header(message, "Authorization"));
}

bool RequestGate::has_job_key(SoupServerMessage *message, const std::string &job_id) const {
  const char *query = g_uri_get_query(soup_server_message_get_uri(message));
  if (query == nullptr || job_id.empty()) return false;
  GHashTable *params = g_uri_parse_params(query, -1, "&", G_URI_PARAMS_NONE, nullptr);
  if (params == nullptr) return false;
  const char *key = static_cast<const char *>(g_hash_table_lookup(params, "key"));
  const bool valid = key && policy_.job_key_valid(job_id, key);
  g_hash_table_unref(params);
  return valid;
}

bool RequestGate::admit(SoupServerMessage *message, const std::string &path) const {
  SoupMessageHeaders *response = soup_server_message_get_response_headers(message);
  add_security_headers(response);

  const char *host = request_header(message, "Host");
  if (!policy_.host_allowed(host)) {
    refuse(message, SOUP_STATUS_MISDIRECTED_REQUEST,
           "This server does not answer for the host name in this request. If it is the server's name, start "
           "the server with --allowed-host NAME.");
    return false;
  }

  SoupMessageHeaders *request = soup_server_message_get_request_headers(message);
  if (path != "/upload") {
    if (soup_message_headers_get_encoding(request) == SOUP_ENCODING_CONTENT_LENGTH &&
        soup_message_headers_get_content_length(request) > kMaxSmallBodyBytes) {
      refuse(message, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "This request's body is too large.");
      return false;
    }
    limit_body(message);
  }

  const char *origin_header = request_header(message, "Origin");
  const AccessPolicy::Origin origin = policy_.classify_origin(origin_header, host);
  if (origin == AccessPolicy::Origin::cors) {
    soup_message_headers_replace(response, "Access-Control-Allow-Origin",
                                 AccessPolicy::normalize_origin(origin_header).c_str());
    soup_message_headers_append(response, "Vary", "Origin");
  }
  if (is_method(message, "OPTIONS")) return answer_preflight(message);

  if ((is_method(message, "POST") || is_method(message, "DELETE")) && origin == AccessPolicy::Origin::foreign) {
    refuse(message, SOUP_STATUS_FORBIDDEN,
           std::string("Requests from pages of another site are refused") +
               (origin_header ? std::string(" (") + origin_header + ")" : "") +
               ". To allow a site, start the server with --cors-origin ORIGIN.");
    return false;
  }

  if (policy_.token_required() && is_api_path(path) && !has_token(message) &&
      !(is_method(message, "GET") && has_job_key(message, keyed_job_id(path)))) {
    soup_message_headers_replace(response, "WWW-Authenticate", "Bearer realm=\"demucs-vocalsd\"");
    refuse(message, SOUP_STATUS_UNAUTHORIZED,
           request_header(message, "Authorization")
               ? "The access token is wrong."
               : "This server needs an access token: send it as \"Authorization: Bearer TOKEN\".");
    return false;
  }
  return true;
}

bool RequestGate::answer_preflight(SoupServerMessage *message) const {
  SoupMessageHeaders *response = soup_server_message_get_response_headers(message);
  const char *origin = request_header(message, "Origin");
  if (origin && !policy_.is_cors_origin(AccessPolicy::normalize_origin(origin))) {
    refuse(message, SOUP_STATUS_FORBIDDEN,
           std::string("Pages of ") + origin + " may not call this server (see --cors-origin).");
    return false;
  }
  soup_message_headers_replace(response, "Allow", "GET, HEAD, POST, DELETE, OPTIONS");
  if (origin) {
    soup_message_headers_replace(response, "Access-Control-Allow-Methods", "GET, POST, DELETE");
    soup_message_headers_replace(response, "Access-Control-Allow-Headers", "Authorization, Content-Type");
    soup_message_headers_replace(response, "Access-Control-Max-Age", "600");
  }
  soup_server_message_set_status(message, SOUP_STATUS_NO_CONTENT, nullptr);
  return false;
}

// A body on a route that takes none is read and dropped, never kept; past
// the cap the connection is closed (a chunked body announces no length).
void RequestGate::limit_body(SoupServerMessage *message) const {
  soup_message_body_set_accumulate(soup_server_message_get_request_body(message), FALSE);
  if (soup_message_headers_get_encoding(soup_server_message_get_request_headers(message)) !=
      SOUP_ENCODING_CHUNKED)
    return;
  g_signal_connect(message, "got-chunk", G_CALLBACK(+[](SoupServerMessage *msg, GBytes *chunk, gpointer) {
                     auto *received = static_cast<std::int64_t *>(g_object_get_data(G_OBJECT(msg), kBodyBytesKey));
                     if (received == nullptr) {
                       received = g_new0(std::int64_t, 1);
                       g_object_set_data_full(G_OBJECT(msg), kBodyBytesKey, received, g_free);
                     }
                     *received += static_cast<std::int64_t>(g_bytes_get_size(chunk));
                     if (*received > kMaxSmallBodyBytes) {
                       g_signal_handlers_disconnect_matched(msg, G_SIGNAL_MATCH_DATA, 0, 0, nullptr, nullptr,
                                                            const_cast<char *>(kBodyBytesKey));
                       reply_error_and_close(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
                                             "This request's body is too large.");
                     }
                   }),
                   const_cast<char *>(kBodyBytesKey));
}

}  // namespace demucs
