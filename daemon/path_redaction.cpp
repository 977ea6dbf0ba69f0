#include "path_redaction.h"

#include <cstring>

namespace demucs {

namespace {

// Characters that may come right before a path in a sentence.
bool may_precede_path(char c) { return std::strchr(" \t\n\"'`(<[=,;", c) != nullptr; }
// Characters that end a path in a sentence.
bool ends_path(char c) { return std::strchr(" \t\n\"'`)>],;", c) != nullptr; }

std::string last_component(std::string path) {
  // Sentence punctuation after the path is not part of it.
  std::string tail;
  while (!path.empty() && (path.back() == '.' || path.back() == ':')) {
    tail.insert(tail.begin(), path.back());
    path.pop_back();
  }
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const std::size_t slash = path.rfind('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  return (name.empty() ? "/" : name) + tail;
}

}  // namespace

std::string redact_server_paths(const std::string &text) {
  std::string result;
  std::size_t i = 0;
  while (i < text.size()) {
    const bool starts_path = text[i] == '/' && (i == 0 || may_precede_path(text[i - 1]));
    if (!starts_path) {
      result += text[i++];
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && !ends_path(text[end])) ++end;
    result += last_component(text.substr(i, end - i));
    i = end;
  }
  return result;
}

}  // namespace demucs
