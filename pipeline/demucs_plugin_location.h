// Where a program finds the demucsvocals element (the plugin in gst-plugin/).
//
// The plugin is an ordinary GStreamer plugin, loaded from a folder like any
// other (in the build tree gst-plugin/loader; it loads the elements' library
// itself); nothing links it into the programs. GStreamer looks in
// GST_PLUGIN_PATH, then in its own system folder. On top of that:
// - a program run from the build tree (its executable under the build root)
//   puts the build's plugin folder first in GST_PLUGIN_PATH before
//   gst_init, so that the element just built is the one used, even when an
//   older copy is installed in the system folder;
// - an installed program whose prefix is not GStreamer's own (/usr/local)
//   scans the install's plugin folder when the element is not found otherwise.
#pragma once

#include <string>

namespace demucs {

/// The element's factory name.
inline constexpr const char *kDemucsElementName = "demucsvocals";
/// The element with a pad per stem, in the same plugin.
inline constexpr const char *kDemucsDemuxElementName = "demucsdemux";

/// gst_init() with the plugin search above. Call once, early (it may set
/// GST_PLUGIN_PATH, so before other threads start). Safe to call again.
void initialize_gstreamer_with_demucs_plugin();

/// True when the demucsvocals element can be made; if GStreamer was initialised
/// elsewhere, first scans this build's or the install's plugin folder as above
/// (without the GST_PLUGIN_PATH priority, which needs to come before gst_init).
bool demucs_element_available();

/// The folder this program looks in for the plugin (build or install), for messages.
std::string demucs_plugin_folder();

}  // namespace demucs
