// Probes an upload in a worker process (`demucs-vocalsd worker probe FILE`,
// worker/audio_probe.h): is it audio that decodes, and how long does it say
// it is. A file that crashes or hangs the probe only costs that process.
#pragma once

#include "worker_process.h"

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace demucs {

struct UploadProbeResult {
  bool ok = false;
  double seconds = -1.0;  ///< the duration the file claims; -1 when unknown
  std::string reason;     ///< when not ok: follows "is not audio that can be decoded: "
};

class UploadProbe {
 public:
  using Callback = std::function<void(const UploadProbeResult &result)>;

  /// `program`: the demucs-vocalsd executable; `limits` for each probe.
  UploadProbe(std::string program, WorkerLimits limits);
  /// Kills probes still running (their callbacks are not called).
  ~UploadProbe();
  UploadProbe(const UploadProbe &) = delete;
  UploadProbe &operator=(const UploadProbe &) = delete;

  /// Probes `path`; `done` is called later from the main loop.
  void probe(const std::string &path, Callback done);

 private:
  std::string program_;
  WorkerLimits limits_;
  int next_id_ = 1;
  std::map<int, std::unique_ptr<WorkerProcess>> running_;
};

}  // namespace demucs
