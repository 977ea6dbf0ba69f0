#include "audio_probe.h"

#include <gst/base/gsttypefindhelper.h>

#include <cstdio>
#include <utility>
#include <vector>

namespace demucs {

namespace {

// How much of the start of a file the quick type check reads.
constexpr std::size_t kTypeCheckBytes = 256 * 1024;

// A quick look at the start of the file: "" or why it is certainly not
// audio. Text goes no further: the discoverer would parse all of it as
// subtitles, holding the whole file in memory.
std::string text_file_reason(const std::string &path) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return "";
  std::vector<guint8> start(kTypeCheckBytes);
  const std::size_t size = std::fread(start.data(), 1, start.size(), file);
  std::fclose(file);
  GstCaps *caps = gst_type_find_helper_for_data(nullptr, start.data(), size, nullptr);
  if (caps == nullptr) return "";
  const gchar *type = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  std::string reason;
  if (g_str_has_prefix(type, "text/") || g_str_has_prefix(type, "application/x-subtitle") ||
      g_strcmp0(type, "application/xml") == 0)
    reason = "it is a text file (" + std::string(type) + ")";
  gst_caps_unref(caps);
  return reason;
}

struct DeferredFailure {
  AudioProbe::Callback done;
  std::string reason;
};

}  // namespace

AudioProbe::AudioProbe(int timeout_seconds) {
  GError *error = nullptr;
  discoverer_ = gst_discoverer_new(static_cast<GstClockTime>(timeout_seconds) * GST_SECOND, &error);
  if (discoverer_ == nullptr) {
    setup_error_ = std::string("cannot start GStreamer's discoverer: ") + (error ? error->message : "unknown error");
    g_clear_error(&error);
    return;
  }
  g_signal_connect(discoverer_, "discovered", G_CALLBACK(on_discovered), this);
  gst_discoverer_start(discoverer_);
}

AudioProbe::~AudioProbe() {
  if (discoverer_) {
    g_signal_handlers_disconnect_by_data(discoverer_, this);
    gst_discoverer_stop(discoverer_);
    g_object_unref(discoverer_);
  }
}

gboolean AudioProbe::on_start_failed(gpointer data) {
  auto *failure = static_cast<DeferredFailure *>(data);
  failure->done(false, failure->reason);
  delete failure;
  return G_SOURCE_REMOVE;
}

void AudioProbe::probe(const std::string &path, Callback done) {
  GError *error = nullptr;
  gchar *uri = gst_filename_to_uri(path.c_str(), &error);
  std::string reason = setup_error_;
  if (uri == nullptr && reason.empty())
    reason = std::string("cannot read the uploaded file: ") + (error ? error->message : "bad path");
  g_clear_error(&error);
  if (reason.empty()) reason = text_file_reason(path);
  if (reason.empty() && !gst_discoverer_discover_uri_async(discoverer_, uri))
    reason = "cannot queue the uploaded file for probing";
  if (!reason.empty()) {
    g_free(uri);
    g_idle_add(on_start_failed, new DeferredFailure{std::move(done), reason});
    return;
  }
  waiting_.emplace(uri, std::move(done));
  g_free(uri);
}

void AudioProbe::on_discovered(GstDiscoverer *, GstDiscovererInfo *info, GError *error, gpointer data) {
  auto *self = static_cast<AudioProbe *>(data);
  const std::string uri = gst_discoverer_info_get_uri(info);
  auto waiting = self->waiting_.find(uri);
  if (waiting == self->waiting_.end()) return;
  Callback done = std::move(waiting->second);
  self->waiting_.erase(waiting);

  bool ok = false;
  std::string reason;
  switch (gst_discoverer_info_get_result(info)) {
    case GST_DISCOVERER_OK: {
      GList *audio = gst_discoverer_info_get_audio_streams(info);
      ok = audio != nullptr;
      gst_discoverer_stream_info_list_free(audio);
      if (!ok) reason = "it has no audio stream";
      break;
    }
    case GST_DISCOVERER_MISSING_PLUGINS: {
      const gchar **details = gst_discoverer_info_get_missing_elements_installer_details(info);
      reason = "decoding it needs a GStreamer plugin that is not installed";
      if (details && details[0]) reason += std::string(" (") + details[0] + ")";
      break;
    }
    case GST_DISCOVERER_TIMEOUT:
      reason = "probing it took too long";
      break;
    default:
      reason = error && error->message ? error->message : "GStreamer does not recognise its format";
      break;
  }
  done(ok, reason);
}

}  // namespace demucs
