#include "access_policy.h"

#include <gio/gio.h>
#include <glib.h>

#include <algorithm>

namespace demucs {

namespace {

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(g_ascii_tolower(c)); });
  return text;
}

// "Example.COM:8000" -> {"example.com", 8000}; "[::1]:80" -> {"::1", 80};
// port -1 when absent. The name is empty if the text is not a host.
struct HostAndPort {
  std::string name;
  int port = -1;
};

HostAndPort split_host(const std::string &text) {
  HostAndPort result;
  std::string rest;
  if (!text.empty() && text[0] == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string::npos) return result;
    result.name = text.substr(1, close - 1);
    rest = text.substr(close + 1);
  } else {
    const std::size_t colon = text.find(':');
    result.name = text.substr(0, colon);
    rest = colon == std::string::npos ? "" : text.substr(colon);
  }
  if (!rest.empty()) {
    guint64 port = 0;
    if (rest[0] != ':' || !g_ascii_string_to_unsigned(rest.c_str() + 1, 10, 0, 65535, &port, nullptr)) return {};
    result.port = static_cast<int>(port);
  }
  result.name = lowercase(result.name);
  if (!result.name.empty() && result.name.back() == '.') result.name.pop_back();  // "localhost." is localhost
  return result;
}

bool is_ip_address(const std::string &name) { return g_hostname_is_ip_address(name.c_str()); }

std::string sha256_digest(const std::string &text) {
  GChecksum *checksum = g_checksum_new(G_CHECKSUM_SHA256);
  g_checksum_update(checksum, reinterpret_cast<const guchar *>(text.data()), static_cast<gssize>(text.size()));
  guint8 digest[32];
  gsize length = sizeof digest;
  g_checksum_get_digest(checksum, digest, &length);
  g_checksum_free(checksum);
  return std::string(reinterpret_cast<const char *>(digest), length);
}

}  // namespace

bool equal_in_constant_time(const std::string &a, const std::string &b) {
  const std::string da = sha256_digest(a), db = sha256_digest(b);
  unsigned char difference = 0;
  for (std::size_t i = 0; i < da.size(); ++i)
    difference |= static_cast<unsigned char>(da[i] ^ db[i]);
  return difference == 0;
}

AccessPolicy::AccessPolicy(AccessSettings settings) : settings_(std::move(settings)) {
  for (std::string &host : settings_.allowed_hosts) host = split_host(host).name;
  for (std::string &origin : settings_.cors_origins) origin = normalize_origin(origin);
}

bool AccessPolicy::is_loopback_host(const std::string &host) {
  if (lowercase(host) == "localhost") return true;
  GInetAddress *address = g_inet_address_new_from_string(host.c_str());
  if (address == nullptr) return false;
  const bool loopback = g_inet_address_get_is_loopback(address);
  g_object_unref(address);
  return loopback;
}

bool AccessPolicy::may_listen(const std::string &host, bool has_token, bool allow_unauthenticated,
                              std::string &why) {
  if (has_token || allow_unauthenticated || is_loopback_host(host)) return true;
  why = "--host " + host +
        " would let anyone who reaches this machine use the service: set an API token with --api-token-file "
        "FILE, --api-token TOKEN or DEMUCS_VOCALSD_API_TOKEN, or pass --allow-unauthenticated if a proxy in "
        "front of it does the authentication";
  return false;
}

bool AccessPolicy::authorized(const char *authorization_header) const {
  if (!token_required()) return true;
  if (authorization_header == nullptr) return false;
  const std::string header = authorization_header;
  constexpr std::size_t kScheme = 7;  // "Bearer "
  if (header.size() <= kScheme || g_ascii_strncasecmp(header.c_str(), "Bearer ", kScheme) != 0) return false;
  std::string token = header.substr(kScheme);
  const std::size_t first = token.find_first_not_of(' ');
  token = first == std::string::npos ? "" : token.substr(first);
  return equal_in_constant_time(token, settings_.api_token);
}

bool AccessPolicy::host_allowed(const char *host_header) const {
  if (host_header == nullptr) return true;  // HTTP/1.0 without Host: no browser sends that
  const HostAndPort host = split_host(host_header);
  if (host.name.empty()) return false;
  if (host.name == "localhost" || is_ip_address(host.name)) return true;
  return std::find(settings_.allowed_hosts.begin(), settings_.allowed_hosts.end(), host.name) !=
         settings_.allowed_hosts.end();
}

std::string AccessPolicy::normalize_origin(const std::string &origin) {
  GUri *uri = g_uri_parse(origin.c_str(), G_URI_FLAGS_NONE, nullptr);
  if (uri == nullptr) return "";
  const std::string scheme = lowercase(g_uri_get_scheme(uri));
  const char *host_text = g_uri_get_host(uri);
  std::string host = host_text ? lowercase(host_text) : "";
  const int port = g_uri_get_port(uri);
  g_uri_unref(uri);
  if ((scheme != "http" && scheme != "https") || host.empty()) return "";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  const int default_port = scheme == "https" ? 443 : 80;
  return scheme + "://" + host + (port > 0 && port != default_port ? ":" + std::to_string(port) : "");
}

bool AccessPolicy::is_cors_origin(const std::string &origin) const {
  return !origin.empty() &&
         std::find(settings_.cors_origins.begin(), settings_.cors_origins.end(), origin) != settings_.cors_origins.end();
}

AccessPolicy::Origin AccessPolicy::classify_origin(const char *origin_header, const char *host_header) const {
  if (origin_header == nullptr) return Origin::none;  // not a browser, or a same-origin GET
  const std::string origin = normalize_origin(origin_header);
  if (origin.empty()) return Origin::foreign;  // "null" (sandboxed pages, files) and nonsense
  if (is_cors_origin(origin)) return Origin::cors;
  if (host_header == nullptr) return Origin::foreign;

  GUri *uri = g_uri_parse(origin.c_str(), G_URI_FLAGS_NONE, nullptr);
  // A percent-encoded host ("http://%40[1") normalizes to text that no
  // longer parses: not an origin this server serves.
  if (uri == nullptr) return Origin::foreign;
  const std::string origin_host = lowercase(g_uri_get_host(uri));
  const int origin_port = g_uri_get_port(uri) > 0 ? g_uri_get_port(uri)
                          : g_strcmp0(g_uri_get_scheme(uri), "https") == 0 ? 443
                                                                              : 80;
  g_uri_unref(uri);
  const HostAndPort host = split_host(host_header);
  // A proxy in front may take https on 443 and pass "Host: name" on: then
  // the names decide. With a port in Host, the ports must agree too.
  const bool same = host.name == origin_host && (host.port < 0 || host.port == origin_port);
  return same ? Origin::same : Origin::foreign;
}

std::string AccessPolicy::job_key(const std::string &job_id) const {
  if (!token_required()) return "";
  gchar *hmac = g_compute_hmac_for_string(G_CHECKSUM_SHA256, reinterpret_cast<const guchar *>(settings_.api_token.data()),
                                          settings_.api_token.size(), ("job:" + job_id).c_str(), -1);
  std::string key(hmac, 32);  // 128 bits
  g_free(hmac);
  return key;
}

bool AccessPolicy::job_key_valid(const std::string &job_id, const std::string &key) const {
  return token_required() && !key.empty() && equal_in_constant_time(key, job_key(job_id));
}

}  // namespace demucs
