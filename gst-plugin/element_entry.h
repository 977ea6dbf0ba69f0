// What the plugin loader (loader/plugin_loader.c) looks up in the elements'
// library once it has loaded it. C, so that the loader needs no C++ and no
// LibTorch.
#ifndef DEMUCS_GST_PLUGIN_ELEMENT_ENTRY_H
#define DEMUCS_GST_PLUGIN_ELEMENT_ENTRY_H

#include <gst/gst.h>

G_BEGIN_DECLS

/// The library's file name, in the build tree next to this header's build
/// folder and installed in the project's private library folder.
#define DEMUCS_ELEMENTS_LIBRARY "libdemucsvocals-elements.so"

/// The entry point's name and type. It registers demucsvocals and demucsdemux
/// with the loader's plugin. loader_version is the loader's project version:
/// a loader and an elements' library from two different builds refuse to work
/// together (with a message saying so) rather than mix.
#define DEMUCS_ELEMENTS_ENTRY "demucs_vocals_register_elements"
typedef gboolean (*DemucsElementsEntry)(GstPlugin* plugin, const gchar* loader_version);

G_END_DECLS

#endif  // DEMUCS_GST_PLUGIN_ELEMENT_ENTRY_H
