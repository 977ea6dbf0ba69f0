// The elements' entry point (element_entry.h): registers demucsvocals and
// demucsdemux with the plugin that the loader (loader/plugin_loader.c) made.
// The only symbol this library exports.
#include "gst-plugin/element_entry.h"
#include "gst-plugin/gstdemucsdemux.h"
#include "gst-plugin/gstdemucsvocals.h"

#include <gmodule.h>
#include <gst/gst.h>

#include <cstring>

extern "C" G_MODULE_EXPORT gboolean demucs_vocals_register_elements(GstPlugin* plugin, const gchar* loader_version) {
  if (loader_version == nullptr || std::strcmp(loader_version, DEMUCS_VOCALS_VERSION) != 0) {
    g_warning("demucsvocals: the plugin file %s is version %s but its elements' library is %s: install both "
              "from one build",
              gst_plugin_get_filename(plugin), loader_version != nullptr ? loader_version : "(unknown)",
              DEMUCS_VOCALS_VERSION);
    return FALSE;
  }
  return GST_ELEMENT_REGISTER(demucsvocals, plugin) && GST_ELEMENT_REGISTER(demucsdemux, plugin);
}
