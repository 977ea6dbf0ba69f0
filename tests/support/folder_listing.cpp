#include "folder_listing.h"

#include <filesystem>
#include <system_error>

namespace demucs::testing {

std::vector<std::string> files_below(const std::string &folder) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code error;
  for (fs::recursive_directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    if (!it->is_directory(error) || it->is_symlink(error)) files.push_back(it->path().string());
  }
  return files;
}

}  // namespace demucs::testing
