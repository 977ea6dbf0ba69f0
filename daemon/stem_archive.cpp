#include "stem_archive.h"

#include <glib.h>
#include <glib/gstdio.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <memory>

namespace demucs {

namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndRecord = 0x06054b50;
constexpr std::uint16_t kVersion = 20;          // 2.0: what a stored file needs
constexpr std::uint16_t kUtf8NameFlag = 1 << 11;
constexpr std::uint32_t kMaxSize = 0xffffffffu;  // without ZIP64

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

struct Entry {
  std::string name;
  std::uint32_t crc = 0;
  std::uint32_t size = 0;
  std::uint32_t offset = 0;
};

// The fields local and central headers share, from "version needed" to the name length.
std::string common_fields(const Entry &entry) {
  std::string out;
  put16(out, kVersion);
  put16(out, kUtf8NameFlag);
  put16(out, 0);       // stored
  put16(out, 0);       // time 00:00:00
  put16(out, 0x21);    // date 1980-01-01
  put32(out, entry.crc);
  put32(out, entry.size);  // compressed = uncompressed
  put32(out, entry.size);
  put16(out, static_cast<std::uint16_t>(entry.name.size()));
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
  if (size > kMaxSize) return path + " is larger than 4 GiB, too large for a ZIP without ZIP64";
  entry.crc = crc;
  entry.size = static_cast<std::uint32_t>(size);
  return "";
}

std::string copy_into(FILE *out, const std::string &path) {
  File in(g_fopen(path.c_str(), "rb"), fclose);
  if (!in) return io_error("read", path);
  std::array<char, 1 << 16> buffer{};
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), in.get()))
    if (std::fwrite(buffer.data(), 1, n, out) != n) return io_error("write", "the archive");
  return std::ferror(in.get()) ? io_error("read", path) : "";
}

std::string write_archive(FILE *out, const std::vector<std::pair<std::string, std::string>> &files) {
  std::vector<Entry> entries;
  std::uint64_t offset = 0;
  for (const auto &[name, path] : files) {
    Entry entry;
    entry.name = name;
    const std::string problem = measure(path, entry);
    if (!problem.empty()) return problem;
    if (offset > kMaxSize) return "the archive would be larger than 4 GiB";
    entry.offset = static_cast<std::uint32_t>(offset);
    std::string header;
    put32(header, kLocalHeader);
    header += common_fields(entry);
    put16(header, 0);  // no extra field
    header += entry.name;
    if (std::fwrite(header.data(), 1, header.size(), out) != header.size()) return io_error("write", "the archive");
    const std::string copied = copy_into(out, path);
    if (!copied.empty()) return copied;
    offset += header.size() + entry.size;
    entries.push_back(entry);
  }
  std::string directory;
  for (const Entry &entry : entries) {
    put32(directory, kCentralHeader);
    put16(directory, kVersion);  // made by: version 2.0, MS-DOS attributes
    directory += common_fields(entry);
    put16(directory, 0);  // extra field
    put16(directory, 0);  // comment
    put16(directory, 0);  // disk
    put16(directory, 0);  // internal attributes
    put32(directory, 0);  // external attributes
    put32(directory, entry.offset);
    directory += entry.name;
  }
  if (offset + directory.size() > kMaxSize) return "the archive would be larger than 4 GiB";
  std::string end;
  put32(end, kEndRecord);
  put16(end, 0);  // this disk
  put16(end, 0);  // disk of the directory
  put16(end, static_cast<std::uint16_t>(entries.size()));
  put16(end, static_cast<std::uint16_t>(entries.size()));
  put32(end, static_cast<std::uint32_t>(directory.size()));
  put32(end, static_cast<std::uint32_t>(offset));
  put16(end, 0);  // comment
  directory += end;
  if (std::fwrite(directory.data(), 1, directory.size(), out) != directory.size())
    return io_error("write", "the archive");
  return "";
}

}  // namespace

std::uint32_t crc32_update(std::uint32_t crc, const unsigned char *data, std::size_t size) {
  const auto &table = crc_table();
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::string write_stem_archive(const std::string &zip_path,
                               const std::vector<std::pair<std::string, std::string>> &entries) {
  const std::string partial = zip_path + ".partial";
  FILE *out = g_fopen(partial.c_str(), "wb");
  if (out == nullptr) return io_error("create", partial);
  std::string problem = write_archive(out, entries);
  if (std::fflush(out) != 0 && problem.empty()) problem = io_error("write", partial);
  if (std::fclose(out) != 0 && problem.empty()) problem = io_error("write", partial);
  if (problem.empty() && g_rename(partial.c_str(), zip_path.c_str()) != 0) problem = io_error("rename", partial);
  if (!problem.empty()) g_remove(partial.c_str());
  return problem;
}

}  // namespace demucs
