// Plugin entry point: registers the demucsvocals and demucsdemux elements.
#include "gst-plugin/gstdemucsdemux.h"
#include "gst-plugin/gstdemucsvocals.h"

#include <gst/gst.h>

#ifndef PACKAGE
#define PACKAGE "demucs-vocals"
#endif

static gboolean plugin_init(GstPlugin* plugin) {
  return GST_ELEMENT_REGISTER(demucsvocals, plugin) && GST_ELEMENT_REGISTER(demucsdemux, plugin);
}

// "MIT/X11" is how GStreamer spells the MIT license (plain "MIT" is an
// unknown license to it, with a warning at every load). The origin is this
// project's (meson.build's project_origin), not upstream Demucs's.
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, demucsvocals,
                  "Music source separation with Demucs v4 (HTDemucs): vocals, instrumental or any stem",
                  plugin_init, DEMUCS_VOCALS_VERSION, "MIT/X11", "demucs-vocals",
                  DEMUCS_VOCALS_ORIGIN)
