#include "support/npy_file.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace demucs::testing {

namespace {

std::vector<int64_t> parse_shape(const std::string& header, const std::string& path) {
  const auto open = header.find('(', header.find("'shape'"));
  const auto close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos) {
    throw std::runtime_error(path + ": npy header has no shape");
  }
  std::vector<int64_t> shape;
  std::stringstream items(header.substr(open + 1, close - open - 1));
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item.find_first_not_of(' ') != std::string::npos) {
      shape.push_back(std::stoll(item));
    }
  }
  return shape;
}

}  // namespace

at::Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error(path + ": cannot open");
  }
  char magic[8];
  in.read(magic, sizeof magic);
  if (!in || std::string(magic, 6) != "\x93NUMPY" || magic[6] != 1) {
    throw std::runtime_error(path + ": not a NumPy 1.0 file");
  }
  unsigned char len_bytes[2];
  in.read(reinterpret_cast<char*>(len_bytes), 2);
  const size_t header_len = len_bytes[0] | (len_bytes[1] << 8);
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  const bool is_float = header.find("'descr': '<f4'") != std::string::npos;
  const bool is_int64 = header.find("'descr': '<i8'") != std::string::npos;
  if (!(is_float || is_int64) || header.find("'fortran_order': False") == std::string::npos) {
    throw std::runtime_error(path + ": only little-endian float32 or int64 in C order is supported: " + header);
  }
  const auto shape = parse_shape(header, path);
  at::Tensor out = at::empty(shape, is_float ? at::kFloat : at::kLong);
  const auto bytes = static_cast<std::streamsize>(out.nbytes());
  in.read(static_cast<char*>(out.data_ptr()), bytes);
  if (in.gcount() != bytes) {
    throw std::runtime_error(path + ": truncated data");
  }
  return out;
}

}  // namespace demucs::testing
