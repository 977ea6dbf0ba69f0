// Refusing a request whose body is still to come. libsoup reads a whole
// request body before it writes any response (unless the client sent
// "Expect: 100-continue"), even after an early handler has set the status:
// an upload refused at its headers would still be read to its end, and an
// endless chunked body would be read forever. This takes the connection
// from libsoup instead, writes the response, and closes it.
#pragma once

#include <libsoup/soup.h>

#include <string>

namespace demucs {

/// Answers `message` at once with `status` and {"error": text} (with the
/// response headers already set on it, and "Connection: close"), logs it,
/// and closes the connection without reading the request body. Before the
/// close, what the client is still sending is read and dropped, never kept,
/// for a moment (8 MiB or 2 s at most: a "lingering close"), so that a
/// client that writes its whole body before reading, as many libraries do,
/// gets the answer instead of a reset when the body is small.
/// `message` must not be used afterwards.
void reply_error_and_close(SoupServerMessage *message, guint status, const std::string &text);

/// Whether the request announces a body (Content-Length > 0 or chunked).
bool request_has_body(SoupServerMessage *message);

}  // namespace demucs
