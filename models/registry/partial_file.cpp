#include "registry/partial_file.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>

namespace demucs {

namespace {

std::string build_path(const std::string &folder, const std::string &file_name) {
  gchar *path = g_build_filename(folder.c_str(), file_name.c_str(), nullptr);
  std::string result = path;
  g_free(path);
  return result;
}

std::runtime_error system_error(const std::string &what, const std::string &path, int error_number) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(error_number));
}

}  // namespace

PartialFile::PartialFile(const std::string &folder, const std::string &file_name)
    : final_path_(build_path(folder, file_name)) {
  std::string name_template = final_path_ + ".part-XXXXXX";
  descriptor_ = g_mkstemp_full(&name_template[0], O_RDWR | O_CLOEXEC, 0644);
  if (descriptor_ < 0) throw system_error("cannot create a file in", folder, errno);
  temporary_path_ = name_template;
}

PartialFile::~PartialFile() {
  close_descriptor();
  if (!committed_) g_unlink(temporary_path_.c_str());
}

void PartialFile::write(const void *data, std::size_t size) {
  const char *bytes = static_cast<const char *>(data);
  while (size > 0) {
    const ssize_t written = ::write(descriptor_, bytes, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw system_error("cannot write", temporary_path_, errno);
    }
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
}

void PartialFile::commit() {
  if (fsync(descriptor_) != 0) throw system_error("cannot write", temporary_path_, errno);
  const int descriptor = descriptor_;
  descriptor_ = -1;
  if (close(descriptor) != 0) throw system_error("cannot write", temporary_path_, errno);
  if (g_rename(temporary_path_.c_str(), final_path_.c_str()) != 0)
    throw system_error("cannot rename " + temporary_path_ + " to", final_path_, errno);
  committed_ = true;
}

void PartialFile::close_descriptor() {
  if (descriptor_ >= 0) close(descriptor_);
  descriptor_ = -1;
}

}  // namespace demucs
