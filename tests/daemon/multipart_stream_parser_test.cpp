// The streaming multipart/form-data parser: the same parts whatever the
// pieces the body arrives in, binary data intact, and malformed bodies refused.
#include "multipart_stream_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace demucs {
namespace {

struct ParsedPart {
  MultipartPart headers;
  std::string data;
  bool ended = false;
};

// Feeds `body` in pieces of the sizes `piece` gives; returns the parts.
std::vector<ParsedPart> parse(const std::string &boundary, const std::string &body,
                              const std::function<std::size_t()> &piece, bool *ok = nullptr,
                              std::string *error = nullptr) {
  std::vector<ParsedPart> parts;
  MultipartStreamParser parser(boundary, {
      [&](const MultipartPart &part) { parts.push_back(ParsedPart{part, "", false}); },
      [&](const char *data, std::size_t size) { parts.back().data.append(data, size); },
      [&]() { parts.back().ended = true; }});
  bool fed = true;
  for (std::size_t at = 0; at < body.size() && fed;) {
    const std::size_t size = std::min(piece(), body.size() - at);
    fed = parser.feed(body.data() + at, size);
    at += size;
  }
  const bool finished = fed && parser.finish();
  if (ok) *ok = finished;
  if (error) *error = parser.error();
  return parts;
}

std::string binary_payload() {
  std::string bytes;
  std::mt19937 random(7);
  for (int i = 0; i < 20000; ++i) bytes.push_back(static_cast<char>(random() & 0xff));
  // Things that look like a delimiter but are not one.
  bytes += "\r\n--XYz\r\n--XY";
  bytes += "\n--XYZ\r\n-";
  return bytes;
}

std::string form_body(const std::string &payload) {
  return "preamble to ignore\r\n"
         "--XYZ\r\n"
         "Content-Disposition: form-data; name=\"stem\"\r\n\r\n"
         "instrumental\r\n"
         "--XYZ\r\n"
         "Content-Disposition: form-data; name=\"file\"; filename=\"my song.mp3\"\r\n"
         "Content-Type: audio/mpeg\r\n\r\n" +
         payload +
         "\r\n--XYZ--\r\nepilogue";
}

TEST(MultipartStreamParser, FindsTheBoundaryInTheContentType) {
  EXPECT_EQ(MultipartStreamParser::boundary_of("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(MultipartStreamParser::boundary_of("Multipart/Form-Data; boundary=\"a b\"; charset=x"), "a b");
  EXPECT_EQ(MultipartStreamParser::boundary_of("application/json"), "");
  EXPECT_EQ(MultipartStreamParser::boundary_of("multipart/form-data"), "");
  EXPECT_EQ(MultipartStreamParser::boundary_of(nullptr), "");
}

TEST(MultipartStreamParser, SamePartsForEveryPieceSize) {
  const std::string payload = binary_payload();
  const std::string body = form_body(payload);
  std::mt19937 random(1);
  const std::vector<std::function<std::size_t()>> pieces = {
      [] { return std::size_t{1}; },
      [] { return std::size_t{7}; },
      [] { return std::size_t{8192}; },
      [&body] { return body.size(); },
      [&random] { return static_cast<std::size_t>(1 + random() % 300); },
  };
  for (const auto &piece : pieces) {
    bool ok = false;
    const std::vector<ParsedPart> parts = parse("XYZ", body, piece, &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].headers.name, "stem");
    EXPECT_FALSE(parts[0].headers.has_filename);
    EXPECT_EQ(parts[0].data, "instrumental");
    EXPECT_EQ(parts[1].headers.name, "file");
    EXPECT_TRUE(parts[1].headers.has_filename);
    EXPECT_EQ(parts[1].headers.filename, "my song.mp3");
    EXPECT_EQ(parts[1].headers.content_type, "audio/mpeg");
    EXPECT_EQ(parts[1].data.size(), payload.size());
    EXPECT_TRUE(parts[1].data == payload) << "binary data changed";
    EXPECT_TRUE(parts[1].ended);
  }
}

TEST(MultipartStreamParser, EmptyFilePartAndBodyWithoutPreamble) {
  bool ok = false;
  const auto parts = parse("b",
                           "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\r\n\r\n--b--\r\n",
                           [] { return std::size_t{3}; }, &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_TRUE(parts[0].headers.has_filename);
  EXPECT_EQ(parts[0].headers.filename, "");
  EXPECT_EQ(parts[0].data, "");
}

TEST(MultipartStreamParser, RefusesABodyCutShort) {
  bool ok = true;
  std::string error;
  const std::string body = form_body("abc");
  parse("XYZ", body.substr(0, body.size() - 20), [] { return std::size_t{64}; }, &ok, &error);
  EXPECT_FALSE(ok);
  EXPECT_NE(error.find("closing boundary"), std::string::npos) << error;
}

TEST(MultipartStreamParser, RefusesABodyWithoutItsBoundary) {
  bool ok = true;
  std::string error;
  parse("XYZ", std::string(40000, 'x'), [] { return std::size_t{1000}; }, &ok, &error);
  EXPECT_FALSE(ok);
  EXPECT_FALSE(error.empty());
}

TEST(MultipartStreamParser, RefusesEndlessPartHeaders) {
  bool ok = true;
  std::string error;
  parse("XYZ", "--XYZ\r\nX-Long: " + std::string(40000, 'a'), [] { return std::size_t{512}; }, &ok, &error);
  EXPECT_FALSE(ok);
  EXPECT_NE(error.find("too long"), std::string::npos) << error;
}

TEST(MultipartStreamParser, RefusesGarbageAfterTheDelimiter) {
  bool ok = true;
  std::string error;
  parse("XYZ", "--XYZjunk\r\n\r\nabc\r\n--XYZ--", [] { return std::size_t{4}; }, &ok, &error);
  EXPECT_FALSE(ok);
  EXPECT_NE(error.find("boundary line"), std::string::npos) << error;
}

// What carries nothing but could be sent for ever is bounded: the body is
// refused while it arrives, not after.
TEST(MultipartStreamParser, RefusesAnEndlessPreambleWhileItArrives) {
  MultipartStreamParser parser("XYZ", {});
  const std::string piece(1000, 'x');
  std::size_t fed = 0;
  while (fed < 1000000 && parser.feed(piece.data(), piece.size())) fed += piece.size();
  EXPECT_LE(fed, MultipartStreamParser::kMaxPreambleBytes);
  EXPECT_NE(parser.error().find("no multipart boundary"), std::string::npos) << parser.error();
}

TEST(MultipartStreamParser, RefusesAnEndlessEpilogueWhileItArrives) {
  MultipartStreamParser parser("XYZ", {});
  const std::string body = "--XYZ\r\nContent-Disposition: form-data; name=\"stem\"\r\n\r\nvocals\r\n--XYZ--\r\n";
  ASSERT_TRUE(parser.feed(body.data(), body.size()));
  const std::string piece(1000, 'x');
  std::size_t fed = 0;
  while (fed < 1000000 && parser.feed(piece.data(), piece.size())) fed += piece.size();
  EXPECT_LE(fed, MultipartStreamParser::kMaxEpilogueBytes);
  EXPECT_NE(parser.error().find("epilogue"), std::string::npos) << parser.error();
}

TEST(MultipartStreamParser, KeepsAShortPreambleAndEpilogueAndRefusesTooManyParts) {
  bool ok = false;
  parse("XYZ", std::string(8000, 'p') + "\r\n" + form_body("data").substr(20) + std::string(8000, 'e'),
        [] { return std::size_t{700}; }, &ok);
  EXPECT_TRUE(ok);
  std::string many;
  for (int i = 0; i <= MultipartStreamParser::kMaxParts; ++i)
    many += "--XYZ\r\nContent-Disposition: form-data; name=\"f" + std::to_string(i) + "\"\r\n\r\nv\r\n";
  std::string error;
  parse("XYZ", many + "--XYZ--", [] { return std::size_t{100}; }, &ok, &error);
  EXPECT_FALSE(ok);
  EXPECT_NE(error.find("too many multipart parts"), std::string::npos) << error;
}

}  // namespace
}  // namespace demucs
