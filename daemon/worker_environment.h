// The environment a worker process gets: the daemon's, less what a worker
// has no use for and a compromised decoder must not read. A worker takes its
// settings from its arguments, so the daemon's own (DEMUCS_VOCALSD_*: the API
// token, the database URL) go, as do libpq's (PGPASSWORD, PGHOST, ... :
// every PG* name), anything named like a secret (TOKEN, PASSWORD, SECRET,
// CREDENTIAL, *_KEY, DATABASE_URL), and systemd's notify socket and passed
// sockets (a worker must not speak for the service).
#pragma once

#include <string>
#include <vector>

namespace demucs {

/// Whether the variable `name` is kept from workers.
bool withheld_from_workers(const std::string &name);

/// `environment` ("NAME=value" strings) without the withheld variables.
std::vector<std::string> worker_environment(const std::vector<std::string> &environment);

}  // namespace demucs
