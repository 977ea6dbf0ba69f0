// Who may do what: the decisions behind demucs-vocalsd's access control,
// apart from HTTP so that they can be tested alone.
//
// - Token: with an API token, every API route needs "Authorization: Bearer
//   TOKEN" (compared in constant time). The page, its files and /health stay
//   open. A job's result and event stream may also be fetched with the job's
//   key (?key=..., an HMAC of the job id under the token), so that <audio>,
//   download links and EventSource, which cannot send headers, work without
//   the token in a URL.
// - Host: requests must name a host this server serves: localhost, an IP
//   address (a DNS-rebinding page always uses a name), or an --allowed-host.
// - Origin: a state-changing request from a browser page of another origin
//   is refused unless that origin is an --cors-origin.
// - Without a token, the daemon listens only on loopback, unless told
//   --allow-unauthenticated; then the job list stays closed.
#pragma once

#include <string>
#include <vector>

namespace demucs {

struct AccessSettings {
  std::string api_token;                   ///< empty: no token needed
  std::vector<std::string> allowed_hosts;  ///< extra names (any case)
  std::vector<std::string> cors_origins;   ///< "https://example.com"
  bool loopback_only = true;               ///< listening on a loopback address only
};

class AccessPolicy {
 public:
  explicit AccessPolicy(AccessSettings settings);

  /// Whether a daemon may listen on `host` with `settings`; `why` (naming
  /// --api-token and --allow-unauthenticated) when not.
  static bool may_listen(const std::string &host, bool has_token, bool allow_unauthenticated, std::string &why);
  /// Whether `host` is a loopback address or "localhost".
  static bool is_loopback_host(const std::string &host);

  bool token_required() const { return !settings_.api_token.empty(); }
  /// The Authorization header carries the token (always true without one).
  bool authorized(const char *authorization_header) const;
  /// The Host header names this server (nullptr: no Host, as HTTP/1.0 may send).
  bool host_allowed(const char *host_header) const;

  enum class Origin { none, same, cors, foreign };
  /// How a request's Origin relates to the server it asked (its Host).
  Origin classify_origin(const char *origin_header, const char *host_header) const;
  /// `origin` (normalized) is an --cors-origin.
  bool is_cors_origin(const std::string &origin) const;

  /// Whether GET /jobs may answer a caller (`authorized` as above).
  bool may_list_jobs(bool authorized) const { return token_required() ? authorized : settings_.loopback_only; }

  /// The key that opens one job's download and events (empty without a token).
  std::string job_key(const std::string &job_id) const;
  bool job_key_valid(const std::string &job_id, const std::string &key) const;

  /// "https://Example.com:443/" -> "https://example.com"; "" if not an origin.
  static std::string normalize_origin(const std::string &origin);

 private:
  AccessSettings settings_;
};

/// Whether a == b, in a time that tells nothing of where they differ or of
/// their lengths (both are hashed, then every byte of the digests compared).
bool equal_in_constant_time(const std::string &a, const std::string &b);

}  // namespace demucs
