// The browser UI: the files of web/ served as they are. GET / is index.html;
// any other path names a file below the web folder. Paths that would leave
// the folder, hidden files and folders are 404.
#pragma once

#include <libsoup/soup.h>

#include <string>

namespace demucs {

/// The web folder this program uses when --web-dir is not given: the source
/// tree's web/ for a program run from its build tree, else the installed copy.
std::string default_web_folder();

class StaticFiles {
 public:
  explicit StaticFiles(std::string folder);
  const std::string &folder() const { return folder_; }
  /// Answers a GET or HEAD of `path`; false (nothing set) when there is no such file.
  bool serve(SoupServerMessage *message, const std::string &path) const;

 private:
  std::string folder_;
};

/// The Content-Type for a file name's extension (text/html; charset=utf-8, ...).
const char *content_type_for(const std::string &file_name);

}  // namespace demucs
