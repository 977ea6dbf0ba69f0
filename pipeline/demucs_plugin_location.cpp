#include "demucs_plugin_location.h"

#include <gst/gst.h>

#include <string>

namespace demucs {

namespace {

bool running_from_build_tree() {
  gchar *executable = g_file_read_link("/proc/self/exe", nullptr);
  if (executable == nullptr) return false;
  const std::string build_root = std::string(DEMUCS_BUILD_ROOT) + "/";
  const bool inside = std::string(executable).rfind(build_root, 0) == 0;
  g_free(executable);
  return inside;
}

bool element_registered() {
  GstElementFactory *factory = gst_element_factory_find(kDemucsElementName);
  if (factory == nullptr) return false;
  gst_object_unref(factory);
  return true;
}

void prepend_to_plugin_path(const std::string &folder) {
  const gchar *current = g_getenv("GST_PLUGIN_PATH");
  std::string value = folder;
  if (current != nullptr && *current != '\0') value += G_SEARCHPATH_SEPARATOR_S + std::string(current);
  g_setenv("GST_PLUGIN_PATH", value.c_str(), TRUE);
}

}  // namespace

std::string demucs_plugin_folder() {
  return running_from_build_tree() ? DEMUCS_PLUGIN_BUILD_FOLDER : DEMUCS_PLUGIN_INSTALL_FOLDER;
}

void initialize_gstreamer_with_demucs_plugin() {
  if (!gst_is_initialized()) {
    if (running_from_build_tree()) prepend_to_plugin_path(DEMUCS_PLUGIN_BUILD_FOLDER);
    gst_init(nullptr, nullptr);
  }
  demucs_element_available();
}

bool demucs_element_available() {
  if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  if (element_registered()) return true;
  const std::string folder = demucs_plugin_folder();
  if (g_file_test(folder.c_str(), G_FILE_TEST_IS_DIR))
    gst_registry_scan_path(gst_registry_get(), folder.c_str());
  return element_registered();
}

}  // namespace demucs
