// Checks that an uploaded file really is audio that GStreamer can decode,
// before it becomes a job: GstDiscoverer in asynchronous mode on the daemon's
// main loop, so that a slow probe never blocks other requests.
#pragma once

#include <gst/pbutils/pbutils.h>

#include <functional>
#include <map>
#include <string>

namespace demucs {

class AudioProbe {
 public:
  /// `ok` true when the file has an audio stream that decodes; otherwise
  /// `reason` says why, for a user, to follow "is not audio that can be
  /// decoded: " ("it has no audio stream", a missing plugin, GStreamer's
  /// own words).
  using Callback = std::function<void(bool ok, const std::string &reason)>;

  /// Probes on the thread-default main context of the caller; each file
  /// gets at most `timeout_seconds`.
  explicit AudioProbe(int timeout_seconds = 20);
  ~AudioProbe();
  AudioProbe(const AudioProbe &) = delete;
  AudioProbe &operator=(const AudioProbe &) = delete;

  /// Probes `path`; `done` is called later from the main loop (never from
  /// inside probe()).
  void probe(const std::string &path, Callback done);

 private:
  static void on_discovered(GstDiscoverer *discoverer, GstDiscovererInfo *info, GError *error, gpointer self);
  static gboolean on_start_failed(gpointer data);

  GstDiscoverer *discoverer_ = nullptr;
  std::string setup_error_;
  std::multimap<std::string, Callback> waiting_;  // by URI
};

}  // namespace demucs
