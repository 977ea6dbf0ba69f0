// The downloads of a job's stems: GET /download/{id}/{stem} gives one stem's
// file (for a one-stem job too), and GET /download/{id} of a multi-stem job
// the ZIP archive the worker wrote (stem_archive.h). The caller has checked
// that the job exists and is completed.
#pragma once

#include "job.h"

#include <libsoup/soup.h>

#include <string>

namespace demucs {

/// 200 (206 for a range) with the file at `path`, read in pieces as the
/// client takes them (streamed_file.h): audio/wav, audio/flac, audio/mpeg or
/// application/zip by `format`, as an attachment named `name`; 404 when the
/// file is gone.
void reply_result_file(SoupServerMessage *message, const std::string &path, const std::string &format,
                       const std::string &name);
void reply_stem_file(SoupServerMessage *message, const Job &job, const std::string &stem);
void reply_stem_archive(SoupServerMessage *message, const Job &job);

/// "/download/ID/STEM" -> {ID, STEM}; empty strings for any other path.
std::pair<std::string, std::string> stem_download_route(const std::string &path);

}  // namespace demucs
