#include "pipeline_error_text.h"

#include "demucs_plugin_location.h"
#include "output_format.h"

#include <string>

namespace demucs {

namespace {

std::string trimmed(const std::string &text) {
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const std::size_t last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// True when `debug` starts with the location line that GST_ELEMENT_ERROR adds:
// "file.c(123): function (): /GstPipeline:...:".
bool starts_with_location(const std::string &debug) {
  const std::size_t line_end = debug.find('\n');
  const std::string first_line = debug.substr(0, line_end);
  return first_line.find("): ") != std::string::npos && first_line.find("/Gst") != std::string::npos;
}

std::string joined(const std::vector<std::string> &parts) {
  std::string text;
  for (const std::string &part : parts) text += (text.empty() ? "" : ", ") + part;
  return text;
}

}  // namespace

std::string missing_element_text(const std::string &factory_name) {
  if (factory_name == kDemucsElementName)
    return "the GStreamer element \"" + factory_name +
           "\" was not found: build or install this project's plugin (gst-plugin/), looked for in "
           "GST_PLUGIN_PATH, GStreamer's plugin folders and " + demucs_plugin_folder();
  std::string text = "the GStreamer element \"" + factory_name + "\" is not installed";
  if (const std::optional<ElementOrigin> origin = stock_element_origin(factory_name))
    text += std::string(" (plugin ") + origin->plugin + ", package " + origin->package + ")";
  return text;
}

std::string debug_detail(const char *debug) {
  if (debug == nullptr) return "";
  std::string text = debug;
  if (starts_with_location(text)) {
    const std::size_t line_end = text.find('\n');
    text = line_end == std::string::npos ? "" : text.substr(line_end + 1);
  }
  return trimmed(text);
}

std::string bus_error_text(GstMessage *error_message, const std::string &input_path,
                           const std::vector<std::string> &missing_plugins) {
  GError *error = nullptr;
  gchar *debug = nullptr;
  gst_message_parse_error(error_message, &error, &debug);
  std::string message = error != nullptr ? trimmed(error->message) : "unknown error";
  const std::string detail = debug_detail(debug);
  const bool type_not_found =
      error != nullptr && error->domain == GST_STREAM_ERROR && error->code == GST_STREAM_ERROR_TYPE_NOT_FOUND;
  const bool decoder_missing =
      error != nullptr && ((error->domain == GST_CORE_ERROR && error->code == GST_CORE_ERROR_MISSING_PLUGIN) ||
                           (error->domain == GST_STREAM_ERROR && error->code == GST_STREAM_ERROR_CODEC_NOT_FOUND));
  if (error != nullptr) g_error_free(error);
  g_free(debug);

  if (type_not_found)
    return input_path + " is not an audio file that GStreamer can read (" + message + ")";
  if (decoder_missing || !missing_plugins.empty()) {
    std::string text = "cannot decode " + input_path + ": " + message;
    if (!missing_plugins.empty())
      text += " Missing: " + joined(missing_plugins) +
              " (install the GStreamer plugin packages that provide it, such as "
              "gstreamer1.0-plugins-good, -bad, -ugly or gstreamer1.0-libav)";
    return text;
  }
  // The detail repeats nothing new when the message already says it.
  if (!detail.empty() && message.find(detail) == std::string::npos) message += " (" + detail + ")";
  return message;
}

}  // namespace demucs
