#include "registry/recorded_sha256.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace demucs {

namespace {

constexpr std::size_t kSha256HexDigits = 64;

bool is_sha256_hex(const std::string &text) {
  return text.size() == kSha256HexDigits &&
         std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  return text;
}

}  // namespace

std::string recorded_sha256_path(const std::string &file_path) { return file_path + ".sha256"; }

std::string read_recorded_sha256(const std::string &file_path) {
  std::ifstream in(recorded_sha256_path(file_path));
  std::string first_word;
  if (!(in >> first_word)) return "";
  return is_sha256_hex(first_word) ? lowercase(first_word) : "";
}

void record_sha256(const std::string &file_path, const std::string &sha256_hex) {
  if (!is_sha256_hex(sha256_hex)) throw std::invalid_argument("not a sha256: " + sha256_hex);
  const std::string record = recorded_sha256_path(file_path);
  const std::string temporary = record + ".part-" + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << lowercase(sha256_hex) << "  " << std::filesystem::path(file_path).filename().string() << "\n";
    out.close();
    if (!out) {
      std::remove(temporary.c_str());
      throw std::runtime_error("cannot write " + record + ": " + std::strerror(errno));
    }
  }
  if (std::rename(temporary.c_str(), record.c_str()) != 0) {
    const int error = errno;
    std::remove(temporary.c_str());
    throw std::runtime_error("cannot write " + record + ": " + std::strerror(error));
  }
}

}  // namespace demucs
