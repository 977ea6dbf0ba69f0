// The daemon's settings: command-line options, each also settable by an
// environment variable (DEMUCS_VOCALSD_<OPTION>, e.g. DEMUCS_VOCALSD_PORT);
// the command line wins.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace demucs {

struct DaemonOptions {
  std::string host = "127.0.0.1";
  int port = 8000;            ///< 0: any free port
  std::string data_dir;       ///< uploads, outputs, the job database
  std::string model = "htdemucs";
  std::string device = "auto";
  int max_upload_mb = 100;
  int max_jobs = 1;           ///< pipelines at once
  int max_queue = 100;        ///< pending jobs before uploads get 503
  std::int64_t job_ttl = 3600;          ///< seconds
  std::int64_t cleanup_interval = 300;  ///< seconds
  std::string web_dir;        ///< the UI's files
};

/// Parses argv (consumed by GOption) and the environment. On --help, prints
/// and returns nullopt with `exit_status` 0; on a bad value, prints why to
/// stderr and returns nullopt with `exit_status` 2.
std::optional<DaemonOptions> parse_daemon_options(int &argc, char **&argv, int &exit_status);

}  // namespace demucs
