// An incremental multipart/form-data parser (RFC 7578): bytes go in as they
// arrive from the network, parts come out as callbacks, and part bodies are
// handed on in pieces, so that an upload of any size is never held in memory.
// Only the part headers (at most kMaxHeaderBytes) and a delimiter's length
// of body are buffered. What carries nothing but could be sent for ever is
// bounded too: the preamble before the first delimiter and the epilogue
// after the last (kMaxPreambleBytes, kMaxEpilogueBytes), and the number of
// parts (kMaxParts); past a bound the body is malformed.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace demucs {

/// What a part's headers say.
struct MultipartPart {
  std::string name;          ///< Content-Disposition's name ("file")
  std::string filename;      ///< its filename, as sent (may be empty)
  bool has_filename = false; ///< a filename parameter was present (a file field)
  std::string content_type;  ///< the part's Content-Type, if any
};

class MultipartStreamParser {
 public:
  static constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
  static constexpr std::size_t kMaxPreambleBytes = 16 * 1024;
  static constexpr std::size_t kMaxEpilogueBytes = 16 * 1024;
  static constexpr int kMaxParts = 64;

  struct Callbacks {
    std::function<void(const MultipartPart &part)> part_begin;
    std::function<void(const char *data, std::size_t size)> part_data;
    std::function<void()> part_end;
  };

  /// `boundary` as given in the Content-Type's boundary parameter.
  MultipartStreamParser(std::string boundary, Callbacks callbacks);

  /// The boundary parameter of a multipart/form-data Content-Type header
  /// value; empty if it is not multipart/form-data or has no boundary.
  static std::string boundary_of(const char *content_type);

  /// Parses the next bytes. Returns false once the body is malformed
  /// (error() says how); further calls then do nothing.
  bool feed(const char *data, std::size_t size);
  /// After the last bytes: true if the body ended with the closing delimiter.
  bool finish();

  const std::string &error() const { return error_; }
  bool failed() const { return !error_.empty(); }

 private:
  enum class State { preamble, after_delimiter, headers, body, epilogue };

  bool process();
  bool parse_headers(const std::string &block, MultipartPart &part);
  bool fail(const std::string &message);

  std::string delimiter_;  // "\r\n--" + boundary
  Callbacks callbacks_;
  State state_ = State::preamble;
  std::string buffer_;
  std::string error_;
  std::size_t skipped_bytes_ = 0;  // of the preamble or the epilogue, so far
  int parts_ = 0;
};

}  // namespace demucs
