#include "registry/file_sha256.h"

#include "registry/sha256.h"

#include <algorithm>
#include <cctype>
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

std::runtime_error read_error(const std::string &path, int error_number) {
  return std::runtime_error("cannot read " + path + ": " + std::strerror(error_number));
}

}  // namespace

std::string file_sha256_hex(const std::string &path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw read_error(path, errno);

  Sha256 checksum;
  std::vector<unsigned char> block(kReadBlockBytes);
  for (;;) {
    const std::size_t got = std::fread(block.data(), 1, block.size(), file.get());
    if (got > 0) checksum.update(block.data(), got);
    if (got < block.size()) {
      if (std::ferror(file.get())) throw read_error(path, errno);
      break;
    }
  }
  return checksum.hex_digest();
}

bool sha256_hex_has_prefix(const std::string &sha256_hex, const std::string &prefix) {
  if (prefix.empty() || prefix.size() > sha256_hex.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), sha256_hex.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

bool file_has_sha256_prefix(const std::string &path, const std::string &prefix) {
  return sha256_hex_has_prefix(file_sha256_hex(path), prefix);
}

}  // namespace demucs
