#include "folder_listing.h"

#include <glib.h>

namespace demucs::testing {

std::vector<std::string> files_below(const std::string &folder) {
  std::vector<std::string> files;
  GDir *dir = g_dir_open(folder.c_str(), 0, nullptr);
  if (dir == nullptr) return files;
  while (const gchar *name = g_dir_read_name(dir)) {
    const std::string path = folder + "/" + name;
    if (g_file_test(path.c_str(), G_FILE_TEST_IS_DIR) && !g_file_test(path.c_str(), G_FILE_TEST_IS_SYMLINK)) {
      for (const std::string &file : files_below(path)) files.push_back(file);
    } else {
      files.push_back(path);
    }
  }
  g_dir_close(dir);
  return files;
}

}  // namespace demucs::testing
