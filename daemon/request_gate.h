// What every request passes before a route sees it, as soon as its headers
// have arrived (libsoup's early handlers), in this order:
//
//   1. security headers on the response (security_headers.h);
//   2. the Host must be one this server serves (421 otherwise: DNS rebinding);
//   3. a route that takes no upload takes no body beyond 64 KiB (413);
//   4. CORS preflights (OPTIONS) are answered here, for --cors-origin only;
//   5. POST and DELETE from another origin's page are refused (403: CSRF);
//   6. API routes need the token when there is one (401).
//
// A refused request that still has a body coming is answered and its
// connection closed without reading the body (reply_and_close.h).
#pragma once

#include "access_policy.h"

#include <libsoup/soup.h>

#include <cstdint>
#include <string>

namespace demucs {

class RequestGate {
 public:
  static constexpr std::int64_t kMaxSmallBodyBytes = 64 * 1024;

  explicit RequestGate(const AccessPolicy &policy) : policy_(policy) {}

  /// Checks `message` (path `path`, decoded); false when it has been
  /// answered (refused, or a preflight), and must not be used any more if
  /// it had a body.
  bool admit(SoupServerMessage *message, const std::string &path) const;

  /// Whether the request carries the API token (true when none is set).
  bool has_token(SoupServerMessage *message) const;
  /// Whether a request for job `job_id` carries that job's ?key=.
  bool has_job_key(SoupServerMessage *message, const std::string &job_id) const;

  /// The routes that need the token: /upload, /jobs, /status/, /download/, /events/.
  static bool is_api_path(const std::string &path);

 private:
  bool answer_preflight(SoupServerMessage *message) const;
  void limit_body(SoupServerMessage *message) const;

  const AccessPolicy &policy_;
};

/// Refuses `message` with `status` and {"error": text}: closing the
/// connection when a request body is still to come (reply_and_close.h).
void refuse(SoupServerMessage *message, guint status, const std::string &text);

}  // namespace demucs
