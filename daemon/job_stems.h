// The stems of a job. Job::stem holds what the upload asked for: one stem
// ("vocals"), or several joined with commas ("vocals,instrumental"; "all" for
// every stem is expanded at upload for a known model, kept as "all" for a
// checkpoint given by path). No column of its own: the job store is not
// touched. A multi-stem job's worker writes, next to Job::output_path
// (FOLDER/output.<format>), FOLDER/output_<stem>.<format> per stem and
// FOLDER/output_stems.zip with all of them.
#pragma once

#include "job.h"

#include <string>
#include <vector>

namespace demucs {

/// True when the job asks for more than one stem (a list, or "all").
bool job_has_several_stems(const Job &job);

/// The stems asked for, in order ({"all"} for every stem of a model given by path).
std::vector<std::string> requested_stems(const Job &job);

/// Where the worker writes one stem of a multi-stem job.
std::string job_stem_path(const Job &job, const std::string &stem);

/// The archive of a multi-stem job's stems.
std::string job_stem_archive_path(const Job &job);

/// The stems whose files are there, in order: for a one-stem job its stem
/// once its output exists; for "all" whatever output_<stem> files the worker wrote.
std::vector<std::string> produced_stems(const Job &job);

/// The download name of one stem: "song_vocals.wav"; of the archive: "song_stems.zip".
std::string stem_download_name(const Job &job, const std::string &stem);
std::string stem_archive_download_name(const Job &job);

}  // namespace demucs
