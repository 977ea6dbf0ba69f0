// Deadlines for a request's arrival, checked before anything else (before
// the Host, token and size checks of request_gate.h): the idle timeout
// (http_listener.h) alone lets a client that sends a byte every 20 s hold a
// connection for ever, and 256 such clients fill --max-connections before
// any of them is authenticated. From a request's first byte:
//
// - its headers must be in within `header_timeout_seconds`;
// - all of it, body included, within `request_timeout_seconds`, plus one
//   second for every `min_body_bytes_per_second` of body received: a large
//   upload has as long as it needs at that rate (so at most the timeout plus
//   --max-upload-mb at that rate), one that trickles is cut off.
//
// A request past its deadline gets 408 and its connection is closed. The
// response, once the request is in, has no deadline: a slow reader of a
// large download is bounded by the idle timeout only.
#pragma once

#include <libsoup/soup.h>

#include <cstdint>

namespace demucs {

struct RequestDeadlineSettings {
  int header_timeout_seconds = 10;
  int request_timeout_seconds = 60;
  std::int64_t min_body_bytes_per_second = 16 * 1024;
};

class RequestDeadlines {
 public:
  RequestDeadlines(SoupServer *server, const RequestDeadlineSettings &settings);
  ~RequestDeadlines();
  RequestDeadlines(const RequestDeadlines &) = delete;
  RequestDeadlines &operator=(const RequestDeadlines &) = delete;

 private:
  static void on_request_started(SoupServer *, SoupServerMessage *message, gpointer self);

  SoupServer *server_;
  RequestDeadlineSettings settings_;
};

/// Drops `message`'s deadline (its connection is taken from libsoup:
/// reply_and_close.h).
void end_request_deadline(SoupServerMessage *message);

}  // namespace demucs
