#include "registry/file_sha256.h"

#include <glib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace demucs {

namespace {

constexpr std::size_t kReadBlockBytes = 1 << 20;

struct FileCloser {
  void operator()(std::FILE *file) const { std::fclose(file); }
};

struct ChecksumFree {
  void operator()(GChecksum *checksum) const { g_checksum_free(checksum); }
};

std::runtime_error read_error(const std::string &path, int error_number) {
  return std::runtime_error("cannot read " + path + ": " + std::strerror(error_number));
}

}  // namespace

std::string file_sha256_hex(const std::string &path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw read_error(path, errno);

  std::unique_ptr<GChecksum, ChecksumFree> checksum(g_checksum_new(G_CHECKSUM_SHA256));
  std::vector<unsigned char> block(kReadBlockBytes);
  for (;;) {
    const std::size_t got = std::fread(block.data(), 1, block.size(), file.get());
    if (got > 0) g_checksum_update(checksum.get(), block.data(), static_cast<gssize>(got));
    if (got < block.size()) {
      if (std::ferror(file.get())) throw read_error(path, errno);
      break;
    }
  }
  return g_checksum_get_string(checksum.get());
}

bool sha256_hex_has_prefix(const std::string &sha256_hex, const std::string &prefix) {
  if (prefix.empty() || prefix.size() > sha256_hex.size()) return false;
  return g_ascii_strncasecmp(sha256_hex.c_str(), prefix.c_str(), prefix.size()) == 0;
}

bool file_has_sha256_prefix(const std::string &path, const std::string &prefix) {
  return sha256_hex_has_prefix(file_sha256_hex(path), prefix);
}

}  // namespace demucs
