#include "multipart_stream_parser.h"

#include <libsoup/soup.h>

#include <algorithm>

namespace demucs {

MultipartStreamParser::MultipartStreamParser(std::string boundary, Callbacks callbacks)
    : delimiter_("\r\n--" + boundary), callbacks_(std::move(callbacks)) {
  // The first delimiter may start the body without the CRLF in front of it:
  // pretend the body began with one.
  buffer_ = "\r\n";
}

std::string MultipartStreamParser::boundary_of(const char *content_type) {
  if (content_type == nullptr) return "";
  // The media type is the part before the first ';'.
  std::string type(content_type);
  const std::size_t semicolon = type.find(';');
  std::string media = type.substr(0, semicolon);
  media.erase(std::remove_if(media.begin(), media.end(), [](char c) { return c == ' ' || c == '\t'; }),
              media.end());
  std::transform(media.begin(), media.end(), media.begin(), [](unsigned char c) { return std::tolower(c); });
  if (media != "multipart/form-data" || semicolon == std::string::npos) return "";
  GHashTable *params = soup_header_parse_semi_param_list(content_type + semicolon + 1);
  std::string boundary;
  if (params) {
    const char *value = static_cast<const char *>(g_hash_table_lookup(params, "boundary"));
    if (value) boundary = value;
    soup_header_free_param_list(params);
  }
  // RFC 2046: 1 to 70 characters.
  if (boundary.size() > 70) return "";
  return boundary;
}

bool MultipartStreamParser::fail(const std::string &message) {
  if (error_.empty()) error_ = message;
  buffer_.clear();
  return false;
}

bool MultipartStreamParser::feed(const char *data, std::size_t size) {
  if (failed()) return false;
  if (state_ == State::epilogue) {  // what follows the closing delimiter is ignored, up to a bound
    skipped_bytes_ += size;
    if (skipped_bytes_ > kMaxEpilogueBytes) return fail("the multipart epilogue is too long");
    return true;
  }
  if (state_ == State::preamble) skipped_bytes_ += size;
  buffer_.append(data, size);
  return process();
}

bool MultipartStreamParser::finish() {
  if (failed()) return false;
  if (state_ != State::epilogue) return fail("the multipart body ends before its closing boundary");
  return true;
}

bool MultipartStreamParser::process() {
  for (;;) {
    switch (state_) {
      case State::preamble: {
        const std::size_t at = buffer_.find(delimiter_);
        if (at == std::string::npos) {
          // Keep what could be the start of a delimiter.
          if (buffer_.size() >= delimiter_.size()) buffer_.erase(0, buffer_.size() - (delimiter_.size() - 1));
          if (skipped_bytes_ > kMaxPreambleBytes) return fail("no multipart boundary found near the start");
          return true;
        }
        buffer_.erase(0, at + delimiter_.size());
        state_ = State::after_delimiter;
        skipped_bytes_ = 0;
        break;
      }
      case State::after_delimiter: {
        // "--" closes the body; otherwise optional whitespace, then CRLF.
        if (buffer_.size() < 2) return true;
        if (buffer_.compare(0, 2, "--") == 0) {
          skipped_bytes_ = buffer_.size() - 2;
          buffer_.clear();
          state_ = State::epilogue;
          if (skipped_bytes_ > kMaxEpilogueBytes) return fail("the multipart epilogue is too long");
          return true;
        }
        const std::size_t line_end = buffer_.find("\r\n");
        if (line_end == std::string::npos) {
          if (buffer_.size() > 256) return fail("malformed multipart boundary line");
          return true;
        }
        for (std::size_t i = 0; i < line_end; ++i)
          if (buffer_[i] != ' ' && buffer_[i] != '\t') return fail("malformed multipart boundary line");
        buffer_.erase(0, line_end + 2);
        state_ = State::headers;
        break;
      }
      case State::headers: {
        std::size_t end = buffer_.find("\r\n\r\n");
        std::size_t header_bytes = end;
        std::size_t skip = 4;
        if (buffer_.compare(0, 2, "\r\n") == 0) {  // a part without headers
          end = 0;
          header_bytes = 0;
          skip = 2;
        }
        if (end == std::string::npos) {
          if (buffer_.size() > kMaxHeaderBytes) return fail("multipart part headers are too long");
          return true;
        }
        if (++parts_ > kMaxParts) return fail("too many multipart parts");
        MultipartPart part;
        if (!parse_headers(buffer_.substr(0, header_bytes), part)) return false;
        buffer_.erase(0, header_bytes + skip);
        state_ = State::body;
        if (callbacks_.part_begin) callbacks_.part_begin(part);
        break;
      }
      case State::body: {
        const std::size_t at = buffer_.find(delimiter_);
        if (at == std::string::npos) {
          // Everything but a possible beginning of the delimiter is data.
          if (buffer_.size() >= delimiter_.size()) {
            const std::size_t safe = buffer_.size() - (delimiter_.size() - 1);
            if (callbacks_.part_data) callbacks_.part_data(buffer_.data(), safe);
            buffer_.erase(0, safe);
          }
          return true;
        }
        if (at > 0 && callbacks_.part_data) callbacks_.part_data(buffer_.data(), at);
        buffer_.erase(0, at + delimiter_.size());
        if (callbacks_.part_end) callbacks_.part_end();
        state_ = State::after_delimiter;
        break;
      }
      case State::epilogue:
        buffer_.clear();
        return true;
    }
  }
}

bool MultipartStreamParser::parse_headers(const std::string &block, MultipartPart &part) {
  SoupMessageHeaders *headers = soup_message_headers_new(SOUP_MESSAGE_HEADERS_MULTIPART);
  // soup_headers_parse skips a first line (a request or status line in HTTP)
  // and wants every header line to end with a line break.
  const std::string text = "\r\n" + block + "\r\n";
  if (!block.empty() && !soup_headers_parse(text.c_str(), static_cast<int>(text.size()), headers)) {
    soup_message_headers_unref(headers);
    return fail("malformed multipart part headers");
  }
  char *disposition = nullptr;
  GHashTable *params = nullptr;
  if (soup_message_headers_get_content_disposition(headers, &disposition, &params)) {
    if (g_ascii_strcasecmp(disposition, "form-data") == 0) {
      const char *name = static_cast<const char *>(g_hash_table_lookup(params, "name"));
      const char *filename = static_cast<const char *>(g_hash_table_lookup(params, "filename"));
      if (name) part.name = name;
      if (g_hash_table_contains(params, "filename")) {
        part.has_filename = true;
        if (filename) part.filename = filename;
      }
    }
    g_free(disposition);
    g_hash_table_destroy(params);
  }
  const char *content_type = soup_message_headers_get_content_type(headers, nullptr);
  if (content_type) part.content_type = content_type;
  soup_message_headers_unref(headers);
  return true;
}

}  // namespace demucs
