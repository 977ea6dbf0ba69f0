#include "output_format.h"

#include <glib.h>

#include <cstring>

namespace demucs {

namespace {

struct FormatEntry {
  OutputFormat format;
  const char *name;
  const char *encoder;
};

constexpr FormatEntry kFormats[] = {
    {OutputFormat::wav, "wav", "wavenc"},
    {OutputFormat::flac, "flac", "flacenc"},
    {OutputFormat::mp3, "mp3", "lamemp3enc"},
};

const FormatEntry &entry(OutputFormat format) {
  for (const FormatEntry &candidate : kFormats)
    if (candidate.format == format) return candidate;
  return kFormats[0];
}

struct StockElement {
  const char *factory;
  ElementOrigin origin;
};

constexpr StockElement kStockElements[] = {
    {"filesrc", {"coreelements", "libgstreamer1.0-0"}},
    {"filesink", {"coreelements", "libgstreamer1.0-0"}},
    {"decodebin", {"playback", "gstreamer1.0-plugins-base"}},
    {"audioconvert", {"audioconvert", "gstreamer1.0-plugins-base"}},
    {"audioresample", {"audioresample", "gstreamer1.0-plugins-base"}},
    {"wavenc", {"wavenc", "gstreamer1.0-plugins-good"}},
    {"flacenc", {"flac", "gstreamer1.0-plugins-good"}},
    {"lamemp3enc", {"lame", "gstreamer1.0-plugins-good"}},
};

}  // namespace

std::optional<OutputFormat> output_format_from_name(const std::string &name) {
  for (const FormatEntry &candidate : kFormats)
    if (g_ascii_strcasecmp(candidate.name, name.c_str()) == 0) return candidate.format;
  return std::nullopt;
}

std::optional<OutputFormat> output_format_from_path(const std::string &path) {
  const std::size_t slash = path.find_last_of('/');
  const std::size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    return std::nullopt;
  return output_format_from_name(path.substr(dot + 1));
}

const char *output_format_name(OutputFormat format) { return entry(format).name; }

const char *output_format_names() { return "wav, flac, mp3"; }

const char *encoder_factory_name(OutputFormat format) { return entry(format).encoder; }

std::optional<ElementOrigin> stock_element_origin(const std::string &factory_name) {
  for (const StockElement &element : kStockElements)
    if (factory_name == element.factory) return element.origin;
  return std::nullopt;
}

}  // namespace demucs
