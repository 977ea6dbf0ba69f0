// A file as a response body, read in pieces as the client takes them: one
// piece (64 KiB) is read (in GIO's thread pool, off the main loop) only once
// the previous one has been written, so a slow client holds one piece of
// memory, and a large file is never mapped. A mapped file that shrinks under
// the daemon (another node's DELETE or expiry on a shared folder) kills it
// with SIGBUS; a file read that comes up short cuts that one response: the
// connection is closed before Content-Length bytes, which every client sees
// as a broken download. One byte range (Range: bytes=a-b) gets 206.
#pragma once

#include <libsoup/soup.h>

#include <string>

namespace demucs {

/// Answers `message` with the file at `path` (200 or 206; the response's
/// other headers are the caller's). False, with `error` set and `message`
/// untouched, when the file cannot be opened.
bool reply_streamed_file(SoupServerMessage *message, const std::string &path, std::string &error);

}  // namespace demucs
