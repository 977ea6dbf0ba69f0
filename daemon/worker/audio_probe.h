// Whether an uploaded file really is audio that GStreamer can decode, and
// how long it says it is: GstDiscoverer, after a quick type check that keeps
// text files out (the discoverer would parse a whole text file as subtitles,
// holding it in memory). Runs in a worker process (worker_main.h): the
// untrusted file is never parsed in the daemon.
#pragma once

#include <string>

namespace demucs {

struct ProbeResult {
  bool ok = false;          ///< an audio stream that decodes
  double seconds = -1.0;    ///< the duration the file claims; -1 when unknown
  std::string reason;       ///< when not ok, for a user, to follow "is not audio that can be decoded: "
};

/// Probes `path`, in at most `timeout_seconds`. GStreamer must be initialised.
ProbeResult probe_audio(const std::string &path, int timeout_seconds = 20);

}  // namespace demucs
