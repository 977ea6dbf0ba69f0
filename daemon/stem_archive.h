// The ZIP file a multi-stem job's /download/{id} gives: the stems' files,
// stored (no compression: WAV barely compresses with deflate, FLAC and MP3
// are compressed already), each with its CRC-32, written by the worker once
// the stems are complete. ZIP as PKWARE's APPNOTE describes it (local
// headers, central directory, end record), with ZIP64 records (APPNOTE 4.5.3,
// 4.3.14-15) where a size or an offset reaches 4 GiB or the entries 65535:
// seven stems of 30 minutes of float WAV (htdemucs_6s, stem=all) pass 4 GiB.
//
// Written by the worker rather than streamed by the download: a file on
// disk is served like any result (Content-Length, ranges, the same code),
// at the cost of the stems' bytes twice on disk until the job expires.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace demucs {

/// The CRC-32 of ZIP (and zlib, PNG: reflected 0xEDB88320), continued from `crc`.
std::uint32_t crc32_update(std::uint32_t crc, const unsigned char *data, std::size_t size);

/// From which values the archive uses ZIP64 records: a size or offset at or
/// above `bytes`, a count at or above `entries`. The defaults are the ZIP
/// format's own; tests lower them to check the records on small files.
struct Zip64Thresholds {
  std::uint64_t bytes = 0xffffffffu;
  std::uint64_t entries = 0xffffu;
};

/// Writes `zip_path` with each (name in the archive, file) in order: first to
/// zip_path + ".partial", fsynced, renamed into place once complete, and the
/// folder fsynced. Returns "" or what went wrong (nothing is left at either
/// name then).
std::string write_stem_archive(const std::string &zip_path,
                               const std::vector<std::pair<std::string, std::string>> &entries,
                               Zip64Thresholds thresholds = {});

}  // namespace demucs
