// The audio file formats a separation can write, and the GStreamer encoder
// (with the plugin and distribution package that provide it) for each.
#pragma once

#include <optional>
#include <string>

namespace demucs {

enum class OutputFormat { wav, flac, mp3 };

/// "wav", "flac" or "mp3" (case-insensitive); nullopt for anything else.
std::optional<OutputFormat> output_format_from_name(const std::string &name);
/// The format that the extension of `path` names (song.FLAC -> flac); nullopt
/// when there is no extension or it is not one of the formats.
std::optional<OutputFormat> output_format_from_path(const std::string &path);
/// "wav", "flac", "mp3".
const char *output_format_name(OutputFormat format);
/// "wav, flac, mp3": for messages.
const char *output_format_names();

/// The encoder element's factory name: wavenc, flacenc, lamemp3enc.
const char *encoder_factory_name(OutputFormat format);

/// Where an element comes from, for "not installed" messages.
struct ElementOrigin {
  const char *plugin;   ///< the GStreamer plugin ("lame")
  const char *package;  ///< the Debian/Ubuntu package ("gstreamer1.0-plugins-good")
};
/// The plugin and package of the stock elements a separation pipeline uses;
/// nullopt for other names (demucsvocals has its own message).
std::optional<ElementOrigin> stock_element_origin(const std::string &factory_name);

}  // namespace demucs
