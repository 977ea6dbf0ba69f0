// The access log: one line per request (client address, method, path,
// status, duration). What a client sent is escaped: control characters,
// backslashes and bytes that are not UTF-8 appear as \xNN, so that no
// request can forge a log line or a terminal escape.
#pragma once

#include <libsoup/soup.h>

#include <string>

namespace demucs {

/// Notes when the request's headers arrived (for the duration); call early.
void mark_request_start(SoupServerMessage *message);
/// Writes the request's line with `status` (the message's own when 0).
void log_request(SoupServerMessage *message, guint status = 0);
/// `text` with control characters, '\\' and invalid UTF-8 as \xNN.
std::string escape_for_log(const std::string &text);

}  // namespace demucs
