// What the daemon makes of an uploaded file's name: the name it shows (safe
// to print, never a path) and whether its extension is an accepted type.
// Files are never stored under a name the client chose.
#pragma once

#include <string>

namespace demucs {

/// "mp3, wav, flac, ogg, m4a, aac": for messages.
const char *allowed_upload_extensions();

/// The name without folders ("../../x.mp3" -> "x.mp3", "C:\\a\\b.wav" ->
/// "b.wav"), as valid UTF-8, without control characters, leading dots or
/// surrounding spaces, at most 200 bytes (the extension kept); "upload" when
/// nothing is left.
std::string sanitize_upload_name(const std::string &raw);

/// The lower-case extension of `name` ("Song.MP3" -> "mp3"); empty if none.
std::string lowercase_extension(const std::string &name);

/// True for the extensions the daemon accepts (case-insensitive).
bool is_allowed_upload_extension(const std::string &extension);

}  // namespace demucs
