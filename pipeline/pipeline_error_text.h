// The texts a user reads when a separation pipeline cannot be built or fails.
#pragma once

#include <gst/gst.h>

#include <string>
#include <vector>

namespace demucs {

/// "the GStreamer element "lamemp3enc" is not installed (plugin lame, package
/// gstreamer1.0-plugins-good)", or for demucsvocals where it was looked for.
std::string missing_element_text(const std::string &factory_name);

/// The text for an ERROR message of a separation pipeline reading `input_path`:
/// the GError's message, the element's debug detail where it adds something
/// (without the source-file location), and for unreadable input or missing
/// decoders what that means. `missing_plugins`: descriptions from the
/// decoder's missing-plugin messages ("MPEG-1 Layer 3 (MP3) decoder").
std::string bus_error_text(GstMessage *error_message, const std::string &input_path,
                           const std::vector<std::string> &missing_plugins);

/// The part of a GStreamer debug string after its location line
/// ("gstfilesrc.c(532): gst_file_src_start (): /GstPipeline:p/GstFileSrc:f:\nNo such file")
/// -> "No such file"; "" when there is none.
std::string debug_detail(const char *debug);

}  // namespace demucs
