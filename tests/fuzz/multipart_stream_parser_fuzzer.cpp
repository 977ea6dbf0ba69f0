// Fuzzes MultipartStreamParser: the body is fed in pieces whose sizes come
// from the input's first bytes, so every split of a delimiter or a header
// block is tried. Asserts that parts begin and end in pairs and that no more
// body bytes come out than went in.
#include "fuzz_check.h"
#include "multipart_stream_parser.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  const unsigned piece_seed = data[0];
  // One byte picks the boundary: the ones real browsers and curl send.
  static const char *const kContentTypes[] = {
      "multipart/form-data; boundary=X",
      "multipart/form-data; boundary=------------------------abc123",
      "multipart/form-data; boundary=\"quoted boundary\"",
      "multipart/form-data; charset=utf-8; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
  };
  const std::string boundary = demucs::MultipartStreamParser::boundary_of(kContentTypes[data[1] % 4]);
  FUZZ_CHECK(!boundary.empty());
  data += 2;
  size -= 2;

  int open_parts = 0;
  std::size_t body_bytes = 0;
  demucs::MultipartStreamParser::Callbacks callbacks;
  callbacks.part_begin = [&](const demucs::MultipartPart &) {
    FUZZ_CHECK(open_parts == 0);
    ++open_parts;
  };
  callbacks.part_data = [&](const char *bytes, std::size_t count) {
    FUZZ_CHECK(open_parts == 1);
    FUZZ_CHECK(bytes != nullptr || count == 0);
    body_bytes += count;
  };
  callbacks.part_end = [&]() {
    FUZZ_CHECK(open_parts == 1);
    --open_parts;
  };
  demucs::MultipartStreamParser parser(boundary, callbacks);

  std::size_t offset = 0;
  unsigned state = piece_seed * 2654435761u + 1;
  bool ok = true;
  while (ok && offset < size) {
    state = state * 1103515245u + 12345u;
    std::size_t piece = piece_seed == 0 ? size : 1 + (state >> 16) % 64;
    if (piece > size - offset) piece = size - offset;
    ok = parser.feed(reinterpret_cast<const char *>(data) + offset, piece);
    offset += piece;
  }
  if (ok) ok = parser.finish();
  FUZZ_CHECK(ok != parser.failed());
  FUZZ_CHECK(body_bytes <= size);
  if (ok) FUZZ_CHECK(open_parts == 0);
  return 0;
}
