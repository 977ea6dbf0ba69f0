// A file being written next to its final name, under a temporary name: it
// replaces the final file atomically on commit(), and is deleted otherwise.
#pragma once

#include <cstddef>
#include <string>

namespace demucs {

class PartialFile {
 public:
  /// Creates `<folder>/<file_name>.part-XXXXXX` (mode 0644 less the umask).
  /// Throws std::runtime_error with the system's reason.
  PartialFile(const std::string &folder, const std::string &file_name);
  /// Deletes the temporary file unless commit() succeeded.
  ~PartialFile();

  PartialFile(const PartialFile &) = delete;
  PartialFile &operator=(const PartialFile &) = delete;

  /// Appends bytes; throws std::runtime_error (disk full, I/O error).
  void write(const void *data, std::size_t size);

  /// Flushes to disk, closes, and renames onto the final name in one step.
  /// Throws std::runtime_error; the temporary file is then still deleted.
  void commit();

  const std::string &temporary_path() const { return temporary_path_; }
  const std::string &final_path() const { return final_path_; }

 private:
  void close_descriptor();

  int descriptor_ = -1;
  std::string temporary_path_;
  std::string final_path_;
  bool committed_ = false;
};

}  // namespace demucs
