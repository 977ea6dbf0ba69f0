// What the API says of a failure names files, not the server's folders: a
// GStreamer error "Could not open /srv/data/jobs/<id>/input.mp3" reaches a
// client as "Could not open input.mp3". The daemon's own log keeps the
// whole text for the operator.
#pragma once

#include <string>

namespace demucs {

/// `text` with every absolute path (a word starting with '/') cut to its
/// last component. URLs ("http://host/path") are left as they are.
std::string redact_server_paths(const std::string &text);

}  // namespace demucs
