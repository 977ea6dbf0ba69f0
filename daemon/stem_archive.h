// The ZIP file a multi-stem job's /download/{id} gives: the stems' files,
// stored (no compression: WAV barely compresses with deflate, FLAC and MP3
// are compressed already), each with its CRC-32, written by the worker once
// the stems are complete. ZIP as PKWARE's APPNOTE describes it (local
// headers, central directory, end record; no ZIP64: each stem and the whole
// archive stay under 4 GiB, which the upload limit guarantees).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace demucs {

/// The CRC-32 of ZIP (and zlib, PNG: reflected 0xEDB88320), continued from `crc`.
std::uint32_t crc32_update(std::uint32_t crc, const unsigned char *data, std::size_t size);

/// Writes `zip_path` with each (name in the archive, file) in order: first to
/// zip_path + ".partial", renamed into place once complete. Returns "" or
/// what went wrong (nothing is left at either name then).
std::string write_stem_archive(const std::string &zip_path,
                               const std::vector<std::pair<std::string, std::string>> &entries);

}  // namespace demucs
