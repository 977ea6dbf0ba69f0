// Receives one POST /upload as its bytes arrive: the multipart body is
// parsed on the fly and the `file` part written straight to the job's
// folder, so that the request body is never held in memory. The upload is
// rejected (413, 415, 400) as soon as what has arrived shows it must be: the
// file part passes the size limit, its extension is not an allowed one, the
// body is malformed. A rejected or abandoned upload leaves no file behind.
// The file is received under a temporary name; store() puts it on disk for
// good (fsync, rename) in a thread, off the main loop: syncing a large
// upload can take seconds, which every other request would wait for.
#pragma once

#include "multipart_stream_parser.h"

#include <libsoup/soup.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace demucs {

class UploadReceiver {
 public:
  /// `folder` (created on the first file byte) receives the file as
  /// input.<extension>; `max_bytes` limits the file part. `holds` (its slot
  /// among the uploads in flight, its disk space reservation) are kept for
  /// as long as the receiver lives.
  UploadReceiver(SoupServerMessage *message, std::string boundary, std::string job_id, std::string folder,
                 std::int64_t max_bytes, std::vector<std::shared_ptr<void>> holds);
  /// Deletes the folder unless keep() was called.
  ~UploadReceiver();
  UploadReceiver(const UploadReceiver &) = delete;
  UploadReceiver &operator=(const UploadReceiver &) = delete;

  /// A piece of the request body.
  void receive(const char *data, std::size_t size);
  /// After the whole body: checks that it was complete and had a file.
  /// False if the upload was rejected (the response is then set).
  bool finish();
  /// After finish(): syncs the file and gives it its name (stored_path()),
  /// in a thread; then `done` is called on the main loop, with false when it
  /// failed (the upload is rejected then: 507 or 500). The message must be
  /// paused meanwhile.
  void store(std::function<void(bool stored)> done);

  bool rejected() const { return rejected_; }
  /// The id of the job this upload becomes (its folder's name).
  const std::string &job_id() const { return job_id_; }
  /// The name the client gave the file (not sanitized).
  const std::string &client_file_name() const { return client_file_name_; }
  const std::string &extension() const { return extension_; }
  const std::string &stored_path() const { return stored_path_; }
  std::int64_t file_bytes() const { return file_bytes_; }
  /// A small form field (stem, format), if sent.
  std::optional<std::string> field(const std::string &name) const;

  /// Rejects the upload with a JSON error, and deletes the file. While the
  /// body is still arriving, the answer goes out at once and the connection
  /// is closed without reading the rest (the message is then gone).
  void reject(guint status, const std::string &text);
  /// The job now owns the folder.
  void keep() { keep_ = true; }

 private:
  static constexpr std::size_t kMaxFieldBytes = 1024;
  static constexpr int kMaxFields = 16;
  /// Other files and surplus fields are read and dropped, up to this much in all.
  static constexpr std::int64_t kMaxIgnoredBytes = 64 * 1024;

  void on_part_begin(const MultipartPart &part);
  void on_part_data(const char *data, std::size_t size);
  void on_part_end();
  void discard_file();
  void reject_storage_failure(int error_number);
  static void on_stored(GObject *message, GAsyncResult *result, gpointer self);

  SoupServerMessage *message_;  // not owned: the receiver lives on it
  MultipartStreamParser parser_;
  std::string job_id_;
  std::string folder_;
  std::int64_t max_bytes_;
  std::FILE *file_ = nullptr;
  bool in_file_part_ = false;
  std::function<void(bool)> stored_;
  std::string stored_path_;
  std::string client_file_name_;
  std::string extension_;
  std::int64_t file_bytes_ = 0;
  bool saw_file_part_ = false;
  std::string current_field_;  // name of the small field being received, if any
  bool in_ignored_part_ = false;
  std::int64_t ignored_bytes_ = 0;
  std::map<std::string, std::string> fields_;
  bool rejected_ = false;
  bool keep_ = false;
  bool body_complete_ = false;
  std::vector<std::shared_ptr<void>> holds_;
};

}  // namespace demucs
