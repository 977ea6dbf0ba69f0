// The daemon's settings: command-line options, each also settable by an
// environment variable (DEMUCS_VOCALSD_<OPTION>, e.g. DEMUCS_VOCALSD_PORT;
// repeatable options take a comma-separated list there); the command line
// wins. Every option is declared once, in the table in daemon_options.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace demucs {

struct DaemonOptions {
  std::string host = "127.0.0.1";
  int port = 8000;            ///< 0: any free port
  std::string data_dir;       ///< uploads, outputs, the job database
  std::string model = "htdemucs";
  std::string config;         ///< a RoFormer .ckpt model's YAML ("" = the .yaml beside it)
  std::string device = "auto";
  std::string precision;      ///< fp32, fp16, bf16 (the element's; empty: its default, fp32)
  int max_upload_mb = 100;
  int max_jobs = 1;           ///< pipelines at once
  int max_queue = 100;        ///< pending jobs before uploads get 503
  std::int64_t job_ttl = 3600;          ///< seconds
  std::int64_t cleanup_interval = 300;  ///< seconds
  std::string web_dir;        ///< the UI's files

  // Access and limits (see access_policy.h and http_listener.h).
  std::string api_token;      ///< empty: no token (loopback only, unless allow_unauthenticated)
  std::string api_token_file;
  bool allow_unauthenticated = false;
  std::vector<std::string> allowed_hosts;  ///< Host names served besides the address and localhost
  std::vector<std::string> cors_origins;   ///< origins allowed to call the API from a browser
  int idle_timeout = 30;      ///< seconds without a byte before a connection is closed
  int header_timeout = 10;    ///< seconds from a request's first byte to its last header
  int request_timeout = 60;   ///< seconds for a whole request, plus its body at min_upload_rate
  int min_upload_rate = 16;   ///< KiB/s a request body (an upload) must keep up on average
  int max_connections = 256;
  int max_uploads = 8;        ///< uploads in flight at once
  int max_event_streams = 64;
  std::string tls_cert;       ///< PEM files: HTTPS when both are set
  std::string tls_key;

  // Workers, files and shutdown (see worker_process.h, disk_space.h).
  double max_duration_minutes = 30;  ///< longer audio is refused, and stopped while decoding
  int job_timeout = 7200;            ///< seconds a job may run in all
  int stall_timeout = 120;           ///< seconds a worker may go without progress
  int worker_memory_mb = 8192;       ///< address space of a worker
  int min_free_mb = 1024;            ///< kept free in the data folder
  int shutdown_grace = 30;           ///< seconds running jobs get to finish on SIGTERM

  // Several nodes (see job_store.h).
  std::string database;       ///< "" (SQLite in data_dir), sqlite:PATH or postgresql://...
  std::string role = "all";   ///< all, api (no jobs run), worker (no uploads taken)
  std::string node_name;      ///< default HOST:PID
  int job_lease = 30;         ///< seconds
  int max_attempts = 3;       ///< claims of one job before it ends in error; 0: no limit

  bool show_version = false;  ///< --version: print it and exit
};

/// Parses argv (consumed by GOption) and the environment. On --help, prints
/// and returns nullopt with `exit_status` 0; on a bad value, prints why to
/// stderr and returns nullopt with `exit_status` 2. The token file, when
/// given, is read here (its first line is the token).
std::optional<DaemonOptions> parse_daemon_options(int &argc, char **&argv, int &exit_status);

}  // namespace demucs
