// The headers every response carries, so that a browser treats what this
// server sends as what it is and nothing more: the page runs only its own
// scripts, is never framed, never sniffed, and sends no Referer.
#pragma once

#include <libsoup/soup.h>

#include <string>

namespace demucs {

void add_security_headers(SoupMessageHeaders *headers);

/// Content-Disposition for a download named `file_name` (RFC 6266): an
/// ASCII `filename=` for old clients beside the exact UTF-8 `filename*=`.
std::string attachment_disposition(const std::string &file_name);

}  // namespace demucs
