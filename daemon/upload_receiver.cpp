#include "upload_receiver.h"

#include "json_reply.h"
#include "reply_and_close.h"
#include "upload_name.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace demucs {

namespace {

// The folder's entries on disk (after a rename); best effort.
void sync_folder(const std::string &folder) {
  const int fd = open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

// What store() hands to its thread: the thread alone touches it.
struct FileToStore {
  std::FILE *file = nullptr;
  std::string partial_path;
  std::string whole_path;
  std::string folder;
  int error_number = 0;  // 0: stored

  // On disk before it becomes a job: a full disk shows here at the latest.
  void store() {
    const bool written = fsync(fileno(file)) == 0;
    error_number = errno;
    const bool closed = std::fclose(file) == 0;
    file = nullptr;
    if (!written || !closed) {
      if (written) error_number = errno;
      return;
    }
    if (g_rename(partial_path.c_str(), whole_path.c_str()) != 0) {
      error_number = errno;
      return;
    }
    sync_folder(folder);
    error_number = 0;
  }

  ~FileToStore() {
    if (file) std::fclose(file);
  }
};

}  // namespace

UploadReceiver::UploadReceiver(SoupServerMessage *message, std::string boundary, std::string job_id,
                               std::string folder, std::int64_t max_bytes, std::vector<std::shared_ptr<void>> holds)
    : message_(message),
      parser_(std::move(boundary),
              MultipartStreamParser::Callbacks{
                  [this](const MultipartPart &part) { on_part_begin(part); },
                  [this](const char *data, std::size_t size) { on_part_data(data, size); },
                  [this]() { on_part_end(); }}),
      job_id_(std::move(job_id)),
      folder_(std::move(folder)),
      max_bytes_(max_bytes),
      holds_(std::move(holds)) {}

UploadReceiver::~UploadReceiver() {
  if (!keep_) discard_file();
}

std::optional<std::string> UploadReceiver::field(const std::string &name) const {
  auto it = fields_.find(name);
  if (it == fields_.end()) return std::nullopt;
  return it->second;
}

void UploadReceiver::discard_file() {
  if (file_) {
    std::fclose(file_);
    file_ = nullptr;
  }
  if (!stored_path_.empty()) g_remove(stored_path_.c_str());
  g_rmdir(folder_.c_str());
}

void UploadReceiver::reject(guint status, const std::string &text) {
  if (rejected_) return;
  rejected_ = true;
  discard_file();
  if (body_complete_)
    reply_error(message_, status, text);
  else
    reply_error_and_close(message_, status, text);  // frees message_, and this receiver with it, once unwound
}

// A write that failed: a full disk is 507 "disk full", anything else 500.
void UploadReceiver::reject_storage_failure(int error_number) {
  if (error_number == ENOSPC || error_number == EDQUOT)
    reject(SOUP_STATUS_INSUFFICIENT_STORAGE, "disk full: the server has no room for this upload. Try again later.");
  else
    reject(SOUP_STATUS_INTERNAL_SERVER_ERROR,
           std::string("The server could not store the upload: ") + std::strerror(error_number) + ".");
}

void UploadReceiver::receive(const char *data, std::size_t size) {
  if (rejected_) return;
  if (!parser_.feed(data, size))
    reject(SOUP_STATUS_BAD_REQUEST, "The upload is not a valid multipart/form-data body: " + parser_.error() + ".");
}

bool UploadReceiver::finish() {
  body_complete_ = true;
  if (rejected_) return false;
  if (!parser_.finish()) {
    reject(SOUP_STATUS_BAD_REQUEST, "The upload is not a valid multipart/form-data body: " + parser_.error() + ".");
    return false;
  }
  if (!saw_file_part_) {
    reject(SOUP_STATUS_BAD_REQUEST, "The upload has no file: send it in a multipart/form-data field named \"file\".");
    return false;
  }
  if (file_bytes_ == 0) {
    reject(SOUP_STATUS_BAD_REQUEST, "The uploaded file \"" + client_file_name_ + "\" is empty.");
    return false;
  }
  return true;
}

void UploadReceiver::on_part_begin(const MultipartPart &part) {
  if (rejected_) return;
  current_field_.clear();
  in_ignored_part_ = false;
  if (part.name == "file") {
    if (saw_file_part_) {
      reject(SOUP_STATUS_BAD_REQUEST, "Send one file per upload.");
      return;
    }
    saw_file_part_ = true;
    client_file_name_ = part.filename;
    extension_ = lowercase_extension(part.filename);
    if (!is_allowed_upload_extension(extension_)) {
      const std::string shown = sanitize_upload_name(part.filename);
      reject(SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
             "\"" + shown + "\" is not an allowed file type. Upload an audio file: " +
                 allowed_upload_extensions() + ".");
      return;
    }
    if (g_mkdir_with_parents(folder_.c_str(), 0700) != 0) {
      reject_storage_failure(errno);
      return;
    }
    // Received under a temporary name, renamed when whole: no node sharing
    // the folder ever sees half an upload under its real name.
    stored_path_ = folder_ + "/input." + extension_ + ".partial";
    file_ = g_fopen(stored_path_.c_str(), "wbx");  // never through a name that exists (or a link)
    if (file_ == nullptr) {
      reject_storage_failure(errno);
      return;
    }
    in_file_part_ = true;
    return;
  }
  if (part.has_filename || static_cast<int>(fields_.size()) >= kMaxFields) {
    in_ignored_part_ = true;  // other files and surplus fields are not kept
    return;
  }
  current_field_ = part.name;
  fields_[current_field_];
}

void UploadReceiver::on_part_data(const char *data, std::size_t size) {
  if (rejected_) return;
  if (in_ignored_part_) {
    ignored_bytes_ += static_cast<std::int64_t>(size);
    if (ignored_bytes_ > kMaxIgnoredBytes)
      reject(SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
             "The upload carries too much besides the file: send the audio file and the stem and format fields "
             "only.");
    return;
  }
  if (in_file_part_) {
    file_bytes_ += static_cast<std::int64_t>(size);
    if (file_bytes_ > max_bytes_) {
      reject(SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
             "The file is too large: the limit is " + std::to_string(max_bytes_ / (1024 * 1024)) + " MB.");
      return;
    }
    if (std::fwrite(data, 1, size, file_) != size) reject_storage_failure(errno);
    return;
  }
  if (!current_field_.empty()) {
    std::string &value = fields_[current_field_];
    if (value.size() + size > kMaxFieldBytes) {
      reject(SOUP_STATUS_BAD_REQUEST, "The form field \"" + current_field_ + "\" is too long.");
      return;
    }
    value.append(data, size);
  }
}

void UploadReceiver::on_part_end() {
  // The file's last bytes go to the kernel now (cheap); store() syncs them.
  if (in_file_part_ && !rejected_ && std::fflush(file_) != 0) reject_storage_failure(errno);
  in_file_part_ = false;
  current_field_.clear();
  in_ignored_part_ = false;
}

void UploadReceiver::store(std::function<void(bool stored)> done) {
  auto *work = new FileToStore;
  work->file = file_;
  work->partial_path = stored_path_;
  work->whole_path = folder_ + "/input." + extension_;
  work->folder = folder_;
  file_ = nullptr;  // the thread's now
  stored_ = std::move(done);
  // The task holds the message, on which this receiver lives, until on_stored.
  GTask *task = g_task_new(message_, nullptr, on_stored, this);
  g_task_set_task_data(task, work, [](gpointer data) { delete static_cast<FileToStore *>(data); });
  g_task_run_in_thread(task, [](GTask *running, gpointer, gpointer data, GCancellable *) {
    static_cast<FileToStore *>(data)->store();
    g_task_return_boolean(running, TRUE);
  });
  g_object_unref(task);
}

void UploadReceiver::on_stored(GObject *, GAsyncResult *result, gpointer data) {
  auto *self = static_cast<UploadReceiver *>(data);
  const auto *work = static_cast<const FileToStore *>(g_task_get_task_data(G_TASK(result)));
  std::function<void(bool)> done = std::move(self->stored_);
  if (work->error_number != 0) {
    self->reject_storage_failure(work->error_number);
  } else {
    self->stored_path_ = work->whole_path;
  }
  done(work->error_number == 0);
}

}  // namespace demucs
