#include "temporary_folder.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <stdexcept>

namespace demucs {

namespace {

void remove_recursively(const std::string &path) {
  if (g_file_test(path.c_str(), G_FILE_TEST_IS_DIR)) {
    if (GDir *dir = g_dir_open(path.c_str(), 0, nullptr)) {
      while (const gchar *name = g_dir_read_name(dir)) remove_recursively(path + "/" + name);
      g_dir_close(dir);
    }
    g_rmdir(path.c_str());
  } else {
    g_unlink(path.c_str());
  }
}

}  // namespace

TemporaryFolder::TemporaryFolder() {
  gchar *path = g_dir_make_tmp("demucs-registry-test-XXXXXX", nullptr);
  if (path == nullptr) throw std::runtime_error("cannot create a temporary folder");
  path_ = path;
  g_free(path);
}

TemporaryFolder::~TemporaryFolder() { remove_recursively(path_); }

std::string TemporaryFolder::file(const std::string &name) const { return path_ + "/" + name; }

std::string TemporaryFolder::write(const std::string &name, const std::string &content) const {
  const std::string path = file(name);
  if (!g_file_set_contents(path.c_str(), content.data(), static_cast<gssize>(content.size()),
                           nullptr))
    throw std::runtime_error("cannot write " + path);
  return path;
}

std::vector<std::string> TemporaryFolder::names() const {
  std::vector<std::string> names;
  if (GDir *dir = g_dir_open(path_.c_str(), 0, nullptr)) {
    while (const gchar *name = g_dir_read_name(dir)) names.push_back(name);
    g_dir_close(dir);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_file_content(const std::string &path) {
  gchar *content = nullptr;
  gsize length = 0;
  if (!g_file_get_contents(path.c_str(), &content, &length, nullptr)) return "";
  std::string result(content, length);
  g_free(content);
  return result;
}

}  // namespace demucs
