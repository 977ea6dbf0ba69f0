// A fresh folder under the system's temporary folder, removed with its content
// at the end of a test.
#pragma once

#include <string>
#include <vector>

namespace demucs {

class TemporaryFolder {
 public:
  TemporaryFolder();
  ~TemporaryFolder();

  TemporaryFolder(const TemporaryFolder &) = delete;
  TemporaryFolder &operator=(const TemporaryFolder &) = delete;

  const std::string &path() const { return path_; }
  /// path()/name
  std::string file(const std::string &name) const;
  /// Writes `content` to path()/name and returns that path.
  std::string write(const std::string &name, const std::string &content) const;
  /// The names in the folder, sorted (empty if the folder does not exist).
  std::vector<std::string> names() const;

 private:
  std::string path_;
};

/// The content of the file at `path` ("" if it cannot be read).
std::string read_file_content(const std::string &path);

}  // namespace demucs
