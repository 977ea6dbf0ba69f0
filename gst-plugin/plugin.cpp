// Plugin entry point: registers the demucsvocals element.
#include "gst-plugin/gstdemucsvocals.h"

#include <gst/gst.h>

#ifndef PACKAGE
#define PACKAGE "demucs-vocals"
#endif

static gboolean plugin_init(GstPlugin* plugin) { return GST_ELEMENT_REGISTER(demucsvocals, plugin); }

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, demucsvocals,
                  "Music source separation with Demucs v4 (HTDemucs): vocals, instrumental or any stem",
                  plugin_init, DEMUCS_VOCALS_VERSION, "MIT", "demucs-vocals",
                  "https://github.com/facebookresearch/demucs")
