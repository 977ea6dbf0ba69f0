// The demucsvocals plugin as GStreamer loads it: a small module that links
// neither libdemucs nor LibTorch. Its plugin_init gets the process ready for
// LibTorch's thread pool, then loads the elements' library
// (libdemucsvocals-elements.so, which brings libdemucs and LibTorch) and has
// it register demucsvocals and demucsdemux with this plugin.
//
// Why two files: LibTorch's OpenMP runtime (libgomp) reads OMP_WAIT_POLICY
// once, when the dynamic linker loads it, before any of our code runs. Left
// unset, its threads busy-wait after every operation while OpenBLAS's threads
// need the same cores: on two cores gst-launch-1.0 took 1.3-1.7x as long as
// with PASSIVE (README, Benchmarks). A plugin that linked LibTorch directly
// could never change that; this loader sets PASSIVE (unless the user chose a
// policy) before the elements' library, and so libgomp, is loaded, and leaves
// it set: libdemucs reads it to know how OpenMP waits (openmp_threads_spin in
// models/network/openblas_kernels.h), and the program's own child processes
// get the same. Every program gets the fast path: gst-launch-1.0, the CLI,
// the daemon's workers, any GStreamer application.
#include "gst-plugin/element_entry.h"

#include <dlfcn.h>
#include <gmodule.h>
#include <gst/gst.h>

GST_DEBUG_CATEGORY_STATIC(demucs_plugin_loader_debug);
#define GST_CAT_DEFAULT demucs_plugin_loader_debug

// Where the elements' library is, relative to this file's folder: installed,
// GStreamer's plugin folder (LIBDIR/gstreamer-1.0) and the project's private
// library folder (LIBDIR/demucs-vocals) are siblings; in the build tree, this
// file is in build/gst-plugin/loader and the library in build/gst-plugin.
// Relative, so that an installation can move (a DESTDIR, a relocated prefix).
static const char* const kElementsFolders[] = {"../demucs-vocals", ".."};

// Sets OMP_WAIT_POLICY=PASSIVE for the libgomp that the elements' library is
// about to load, unless the environment has a policy or OpenMP is loaded.
static void prefer_passive_openmp_threads(void) {
  if (g_getenv("OMP_WAIT_POLICY") != NULL) {
    GST_INFO("OMP_WAIT_POLICY=%s, as set", g_getenv("OMP_WAIT_POLICY"));
    return;
  }
  // Another library in this process already loaded OpenMP: it has read its
  // settings, and the policy can no longer change. (An official LibTorch
  // bundles libgomp under another name; then this check misses it and the
  // setting below simply comes too late.)
  void* openmp = dlopen("libgomp.so.1", RTLD_LAZY | RTLD_NOLOAD);
  if (openmp != NULL) {
    dlclose(openmp);
    GST_WARNING("OpenMP was loaded before this plugin, so its threads busy-wait between operations, which "
                "slows separation on few cores: set OMP_WAIT_POLICY=PASSIVE in the environment");
    return;
  }
  g_setenv("OMP_WAIT_POLICY", "PASSIVE", TRUE);
}

// The elements' library next to this plugin file, or NULL.
static gchar* find_elements_library(const gchar* plugin_file) {
  g_autofree gchar* plugin_folder = g_path_get_dirname(plugin_file);
  for (gsize i = 0; i < G_N_ELEMENTS(kElementsFolders); i++) {
    g_autofree gchar* candidate = g_build_filename(plugin_folder, kElementsFolders[i], DEMUCS_ELEMENTS_LIBRARY, NULL);
    if (g_file_test(candidate, G_FILE_TEST_IS_REGULAR)) return g_steal_pointer(&candidate);
  }
  return NULL;
}

// GStreamer shows a failing plugin_init only in its debug log; a missing or
// broken library is an installation fault worth a line on stderr too.
static gboolean fail(const gchar* message) {
  GST_ERROR("%s", message);
  g_warning("demucsvocals: %s", message);
  return FALSE;
}

static gboolean plugin_init(GstPlugin* plugin) {
  GST_DEBUG_CATEGORY_INIT(demucs_plugin_loader_debug, "demucsvocals-loader", 0,
                          "the demucsvocals plugin's loader of its elements");
  const gchar* plugin_file = gst_plugin_get_filename(plugin);
  g_autofree gchar* library = find_elements_library(plugin_file);
  if (library == NULL) {
    g_autofree gchar* message = g_strdup_printf(
        "the elements' library %s is not installed next to %s (looked in %s and %s, relative to its folder)",
        DEMUCS_ELEMENTS_LIBRARY, plugin_file, kElementsFolders[0], kElementsFolders[1]);
    return fail(message);
  }

  prefer_passive_openmp_threads();
  // Local binding: the library's LibTorch symbols stay out of the global
  // namespace (as they would for a plugin loaded by GStreamer itself).
  GModule* module = g_module_open(library, G_MODULE_BIND_LOCAL);
  if (module == NULL) {
    g_autofree gchar* message = g_strdup_printf("could not load %s: %s", library, g_module_error());
    return fail(message);
  }
  // GStreamer never unloads plugins, and neither may their elements' code.
  g_module_make_resident(module);

  DemucsElementsEntry register_elements = NULL;
  if (!g_module_symbol(module, DEMUCS_ELEMENTS_ENTRY, (gpointer*)&register_elements) || register_elements == NULL) {
    g_autofree gchar* message = g_strdup_printf("%s has no %s: %s", library, DEMUCS_ELEMENTS_ENTRY, g_module_error());
    return fail(message);
  }
  GST_INFO("loaded the elements from %s", library);
  return register_elements(plugin, DEMUCS_VOCALS_VERSION);
}

// "MIT/X11" is how GStreamer spells the MIT license (plain "MIT" is an
// unknown license to it, with a warning at every load). The origin is this
// project's (meson.build's project_origin), not upstream Demucs's.
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, demucsvocals,
                  "Music source separation with Demucs v4 (HTDemucs): vocals, instrumental or any stem",
                  plugin_init, DEMUCS_VOCALS_VERSION, "MIT/X11", "demucs-vocals", DEMUCS_VOCALS_ORIGIN)
