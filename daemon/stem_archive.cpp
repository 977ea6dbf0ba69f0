#include "stem_archive.h"

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <memory>

namespace demucs {

namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kZip64EndRecord = 0x06064b50;
constexpr std::uint32_t kZip64EndLocator = 0x07064b50;
constexpr std::uint32_t kEndRecord = 0x06054b50;
constexpr std::uint16_t kVersion = 20;       // 2.0: what a stored file needs
constexpr std::uint16_t kZip64Version = 45;  // 4.5: ZIP64 records
constexpr std::uint16_t kUtf8NameFlag = 1 << 11;
constexpr std::uint16_t kZip64ExtraId = 0x0001;
constexpr std::uint32_t kMarker32 = 0xffffffffu;  // "see the ZIP64 record"
constexpr std::uint16_t kMarker16 = 0xffffu;

const std::array<std::uint32_t, 256> &crc_table() {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> values{};
    for (std::uint32_t n = 0; n < 256; ++n) {
      std::uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      values[n] = c;
    }
    return values;
  }();
  return table;
}

// Little-endian fields, appended.
void put16(std::string &out, std::uint16_t value) {
  out += static_cast<char>(value & 0xff);
  out += static_cast<char>(value >> 8);
}
void put32(std::string &out, std::uint32_t value) {
  put16(out, static_cast<std::uint16_t>(value & 0xffff));
  put16(out, static_cast<std::uint16_t>(value >> 16));
}
void put64(std::string &out, std::uint64_t value) {
  put32(out, static_cast<std::uint32_t>(value & 0xffffffffu));
  put32(out, static_cast<std::uint32_t>(value >> 32));
}

struct Entry {
  std::string name;
  std::uint32_t crc = 0;
  std::uint64_t size = 0;
  std::uint64_t offset = 0;  // of its local header
};

// What a header says of the entry: the value itself, or the marker when the
// value is in the ZIP64 extra field.
struct HeaderValues {
  bool zip64_size;    // both sizes in the extra field
  bool zip64_offset;  // the offset too (central header only)
};

// The fields local and central headers share, from "version needed" to the name length.
std::string common_fields(const Entry &entry, bool zip64_size, bool zip64_any) {
  std::string out;
  put16(out, zip64_any ? kZip64Version : kVersion);
  put16(out, kUtf8NameFlag);
  put16(out, 0);       // stored
  put16(out, 0);       // time 00:00:00
  put16(out, 0x21);    // date 1980-01-01
  put32(out, entry.crc);
  const std::uint32_t size = zip64_size ? kMarker32 : static_cast<std::uint32_t>(entry.size);
  put32(out, size);  // compressed = uncompressed
  put32(out, size);
  put16(out, static_cast<std::uint16_t>(entry.name.size()));
  return out;
}

// The ZIP64 extended information extra field (APPNOTE 4.5.3): only the
// values whose header field holds the marker, in this order.
std::string zip64_extra(const Entry &entry, HeaderValues values) {
  std::string fields;
  if (values.zip64_size) {
    put64(fields, entry.size);  // uncompressed
    put64(fields, entry.size);  // compressed
  }
  if (values.zip64_offset) put64(fields, entry.offset);
  if (fields.empty()) return "";
  std::string extra;
  put16(extra, kZip64ExtraId);
  put16(extra, static_cast<std::uint16_t>(fields.size()));
  return extra + fields;
}

std::string local_header(const Entry &entry, const Zip64Thresholds &limits) {
  const bool zip64 = entry.size >= limits.bytes;
  const std::string extra = zip64_extra(entry, {zip64, false});
  std::string header;
  put32(header, kLocalHeader);
  header += common_fields(entry, zip64, zip64);
  put16(header, static_cast<std::uint16_t>(extra.size()));
  header += entry.name;
  return header + extra;
}

std::string central_header(const Entry &entry, const Zip64Thresholds &limits) {
  const HeaderValues values{entry.size >= limits.bytes, entry.offset >= limits.bytes};
  const bool zip64 = values.zip64_size || values.zip64_offset;
  const std::string extra = zip64_extra(entry, values);
  std::string header;
  put32(header, kCentralHeader);
  put16(header, zip64 ? kZip64Version : kVersion);  // made by: MS-DOS attributes
  header += common_fields(entry, values.zip64_size, zip64);
  put16(header, static_cast<std::uint16_t>(extra.size()));
  put16(header, 0);  // comment
  put16(header, 0);  // disk
  put16(header, 0);  // internal attributes
  put32(header, 0);  // external attributes
  put32(header, values.zip64_offset ? kMarker32 : static_cast<std::uint32_t>(entry.offset));
  header += entry.name;
  return header + extra;
}

// After the central directory (`size` bytes at `offset`): the ZIP64 end
// record and its locator when a value needs them, then the end record.
std::string end_records(std::uint64_t count, std::uint64_t size, std::uint64_t offset,
                        const Zip64Thresholds &limits) {
  const bool zip64_count = count >= limits.entries;
  const bool zip64_size = size >= limits.bytes;
  const bool zip64_offset = offset >= limits.bytes;
  std::string out;
  if (zip64_count || zip64_size || zip64_offset) {
    const std::uint64_t record_offset = offset + size;
    put32(out, kZip64EndRecord);
    put64(out, 44);  // the size of the rest of this record
    put16(out, kZip64Version);
    put16(out, kZip64Version);
    put32(out, 0);  // this disk
    put32(out, 0);  // disk of the directory
    put64(out, count);
    put64(out, count);
    put64(out, size);
    put64(out, offset);
    put32(out, kZip64EndLocator);
    put32(out, 0);  // disk of the ZIP64 end record
    put64(out, record_offset);
    put32(out, 1);  // disks in all
  }
  put32(out, kEndRecord);
  put16(out, 0);  // this disk
  put16(out, 0);  // disk of the directory
  const std::uint16_t count16 = zip64_count ? kMarker16 : static_cast<std::uint16_t>(count);
  put16(out, count16);
  put16(out, count16);
  put32(out, zip64_size ? kMarker32 : static_cast<std::uint32_t>(size));
  put32(out, zip64_offset ? kMarker32 : static_cast<std::uint32_t>(offset));
  put16(out, 0);  // comment
  return out;
}

using File = std::unique_ptr<FILE, int (*)(FILE *)>;

std::string io_error(const std::string &what, const std::string &path) {
  return "cannot " + what + " " + path + ": " + g_strerror(errno);
}

// The file's CRC and size, read once.
std::string measure(const std::string &path, Entry &entry) {
  File in(g_fopen(path.c_str(), "rb"), fclose);
  if (!in) return io_error("read", path);
  std::uint64_t size = 0;
  std::uint32_t crc = 0;
  std::array<unsigned char, 1 << 16> buffer{};
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), in.get())) {
    crc = crc32_update(crc, buffer.data(), n);
    size += n;
  }
  if (std::ferror(in.get())) return io_error("read", path);
  entry.crc = crc;
  entry.size = size;
  return "";
}

// Copies `path` into `out`; the headers already say `size` bytes, so a file
// that changed since it was measured is an error, not a damaged archive.
std::string copy_into(FILE *out, const std::string &path, std::uint64_t size) {
  File in(g_fopen(path.c_str(), "rb"), fclose);
  if (!in) return io_error("read", path);
  std::array<char, 1 << 16> buffer{};
  std::uint64_t copied = 0;
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), in.get())) {
    if (std::fwrite(buffer.data(), 1, n, out) != n) return io_error("write", "the archive");
    copied += n;
  }
  if (std::ferror(in.get())) return io_error("read", path);
  return copied == size ? "" : path + " changed while it was archived";
}

bool write_bytes(FILE *out, const std::string &bytes) {
  return std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size();
}

std::string write_archive(FILE *out, const std::vector<std::pair<std::string, std::string>> &files,
                          const Zip64Thresholds &limits) {
  std::vector<Entry> entries;
  std::uint64_t offset = 0;
  for (const auto &[name, path] : files) {
    Entry entry;
    entry.name = name;
    entry.offset = offset;
    const std::string problem = measure(path, entry);
    if (!problem.empty()) return problem;
    const std::string header = local_header(entry, limits);
    if (!write_bytes(out, header)) return io_error("write", "the archive");
    const std::string copied = copy_into(out, path, entry.size);
    if (!copied.empty()) return copied;
    offset += header.size() + entry.size;
    entries.push_back(entry);
  }
  std::string directory;
  for (const Entry &entry : entries) directory += central_header(entry, limits);
  const std::string end = end_records(entries.size(), directory.size(), offset, limits);
  if (!write_bytes(out, directory + end)) return io_error("write", "the archive");
  return "";
}

// The rename is durable only once the folder's entry is on disk too.
std::string sync_folder_of(const std::string &path) {
  g_autofree gchar *folder = g_path_get_dirname(path.c_str());
  const int fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open", folder);
  const bool synced = fsync(fd) == 0;
  const std::string problem = synced ? "" : io_error("sync", folder);
  close(fd);
  return problem;
}

}  // namespace

std::uint32_t crc32_update(std::uint32_t crc, const unsigned char *data, std::size_t size) {
  const auto &table = crc_table();
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::string write_stem_archive(const std::string &zip_path,
                               const std::vector<std::pair<std::string, std::string>> &entries,
                               Zip64Thresholds thresholds) {
  const std::string partial = zip_path + ".partial";
  FILE *out = g_fopen(partial.c_str(), "wb");
  if (out == nullptr) return io_error("create", partial);
  std::string problem = write_archive(out, entries, thresholds);
  if (std::fflush(out) != 0 && problem.empty()) problem = io_error("write", partial);
  // On disk before it gets its final name: after a power loss the name is
  // either absent or the whole archive, never a hole-filled file.
  if (problem.empty() && fsync(fileno(out)) != 0) problem = io_error("sync", partial);
  if (std::fclose(out) != 0 && problem.empty()) problem = io_error("write", partial);
  if (problem.empty() && g_rename(partial.c_str(), zip_path.c_str()) != 0) problem = io_error("rename", partial);
  if (problem.empty()) problem = sync_folder_of(zip_path);
  if (!problem.empty()) {
    g_remove(partial.c_str());
    g_remove(zip_path.c_str());
  }
  return problem;
}

}  // namespace demucs
