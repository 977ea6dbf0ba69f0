#include "audio_probe.h"

#include <gst/base/gsttypefindhelper.h>
#include <gst/pbutils/pbutils.h>

#include <cstdio>
#include <vector>

namespace demucs {

namespace {

// How much of the start of a file the quick type check reads.
constexpr std::size_t kTypeCheckBytes = 256 * 1024;

// A quick look at the start of the file: "" or why it is certainly not audio.
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

}  // namespace

ProbeResult probe_audio(const std::string &path, int timeout_seconds) {
  ProbeResult result;
  result.reason = text_file_reason(path);
  if (!result.reason.empty()) return result;

  GError *error = nullptr;
  gchar *uri = gst_filename_to_uri(path.c_str(), &error);
  if (uri == nullptr) {
    result.reason = std::string("cannot read the uploaded file: ") + (error ? error->message : "bad path");
    g_clear_error(&error);
    return result;
  }
  GstDiscoverer *discoverer = gst_discoverer_new(static_cast<GstClockTime>(timeout_seconds) * GST_SECOND, &error);
  if (discoverer == nullptr) {
    result.reason = std::string("cannot start GStreamer's discoverer: ") + (error ? error->message : "unknown error");
    g_clear_error(&error);
    g_free(uri);
    return result;
  }
  GstDiscovererInfo *info = gst_discoverer_discover_uri(discoverer, uri, &error);
  g_free(uri);
  switch (info ? gst_discoverer_info_get_result(info) : GST_DISCOVERER_ERROR) {
    case GST_DISCOVERER_OK: {
      GList *audio = gst_discoverer_info_get_audio_streams(info);
      result.ok = audio != nullptr;
      gst_discoverer_stream_info_list_free(audio);
      if (!result.ok) result.reason = "it has no audio stream";
      const GstClockTime duration = gst_discoverer_info_get_duration(info);
      if (GST_CLOCK_TIME_IS_VALID(duration)) result.seconds = static_cast<double>(duration) / GST_SECOND;
      break;
    }
    case GST_DISCOVERER_MISSING_PLUGINS: {
      const gchar **details = gst_discoverer_info_get_missing_elements_installer_details(info);
      result.reason = "decoding it needs a GStreamer plugin that is not installed";
      if (details && details[0]) result.reason += std::string(" (") + details[0] + ")";
      break;
    }
    case GST_DISCOVERER_TIMEOUT:
      result.reason = "probing it took too long";
      break;
    default:
      result.reason = error && error->message ? error->message : "GStreamer does not recognise its format";
      break;
  }
  g_clear_error(&error);
  if (info) gst_discoverer_info_unref(info);
  g_object_unref(discoverer);
  return result;
}

}  // namespace demucs
