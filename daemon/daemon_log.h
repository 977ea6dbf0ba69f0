// The daemon's log: one line per request and per job state change, on
// standard output, each with a UTC time stamp. Safe from any thread.
#pragma once

namespace demucs {

void daemon_log(const char *format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace demucs
