// sha256 of files, streamed, and the prefix check that torch.hub's check_hash does.
#pragma once

#include <string>

namespace demucs {

/// The lowercase hex sha256 of the file at `path`, read in blocks (never whole).
/// Throws std::runtime_error naming the path if it cannot be read.
std::string file_sha256_hex(const std::string &path);

/// Whether `sha256_hex` starts with `prefix` (hex digits, any case). An empty
/// prefix never matches: a file without a known hash is never accepted as verified.
bool sha256_hex_has_prefix(const std::string &sha256_hex, const std::string &prefix);

/// file_sha256_hex(path) checked with sha256_hex_has_prefix.
bool file_has_sha256_prefix(const std::string &path, const std::string &prefix);

}  // namespace demucs
