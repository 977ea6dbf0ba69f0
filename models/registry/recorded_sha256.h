// The sha256 recorded beside a cached file whose publisher gives no checksum
// (trust on first use): `<file>.sha256`, in the format of sha256sum, so that
// `sha256sum -c` in the cache folder checks it too.
#pragma once

#include <string>

namespace demucs {

/// "<file_path>.sha256".
std::string recorded_sha256_path(const std::string &file_path);

/// The lowercase hex sha256 recorded for the file at `file_path`, or "" when
/// there is no record or it does not start with 64 hex digits.
std::string read_recorded_sha256(const std::string &file_path);

/// Records `sha256_hex` for the file at `file_path`, replacing any older
/// record in one step (written under a temporary name, then renamed).
/// Throws std::runtime_error naming the record's path.
void record_sha256(const std::string &file_path, const std::string &sha256_hex);

}  // namespace demucs
