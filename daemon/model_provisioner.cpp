#include "model_provisioner.h"

#include "daemon_log.h"

#include "demucs_plugin_location.h"
#include "registry/model_cache.h"
#include "registry/model_downloader.h"
#include "registry/model_registry.h"

#include <algorithm>
#include <cmath>
#include <memory>

namespace demucs {

ModelProvisioner::ModelProvisioner(std::string model, std::string device, std::string precision,
                                   GMainContext *context, ChangeCallback on_change)
    : model_(std::move(model)),
      device_(std::move(device)),
      precision_(std::move(precision)),
      context_(g_main_context_ref(context)),
      on_change_(std::move(on_change)),
      cancellable_(g_cancellable_new()),
      alive_(std::make_shared<std::atomic<bool>>(true)) {}

ModelProvisioner::~ModelProvisioner() {
  *alive_ = false;
  g_cancellable_cancel(cancellable_);
  if (thread_.joinable()) thread_.join();
  g_object_unref(cancellable_);
  g_main_context_unref(context_);
}

const char *ModelProvisioner::phase_name(Phase phase) {
  switch (phase) {
    case Phase::downloading: return "downloading";
    case Phase::loading: return "loading";
    case Phase::ready: return "ready";
    case Phase::unavailable: return "unavailable";
  }
  return "unavailable";
}

ModelProvisioner::State ModelProvisioner::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

void ModelProvisioner::start() {
  thread_ = std::thread([this] { provision(); });
}

void ModelProvisioner::retry() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_.phase != Phase::unavailable) return;
    state_ = State{Phase::loading, 0.0, ""};
  }
  daemon_log("model %s: trying again", model_.c_str());
  if (thread_.joinable()) thread_.join();  // it has ended: it made the model unavailable
  start();
}

void ModelProvisioner::set_state(State state) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = state;
  }
  // Tell the main loop; nothing is told once the provisioner is gone.
  struct Change {
    std::shared_ptr<std::atomic<bool>> alive;
    ModelProvisioner *self;
    State state;
  };
  // Always as a source of the main loop, never called here: this is the
  // provisioner's thread, and g_main_context_invoke would run the callback
  // on it whenever the main loop is between two iterations (the job store's
  // connection is the main loop's alone).
  GSource *source = g_idle_source_new();
  g_source_set_priority(source, G_PRIORITY_DEFAULT);
  g_source_set_callback(
      source,
      [](gpointer data) -> gboolean {
        auto *change = static_cast<Change *>(data);
        if (*change->alive && change->self->on_change_) change->self->on_change_(change->state);
        return G_SOURCE_REMOVE;
      },
      new Change{alive_, this, std::move(state)}, [](gpointer data) { delete static_cast<Change *>(data); });
  g_source_attach(source, context_);
  g_source_unref(source);
}

void ModelProvisioner::provision() {
  std::string error = download_missing_files();
  if (error.empty()) {
    set_state({Phase::loading, 0.0, ""});
    error = load();
  }
  if (!error.empty()) {
    daemon_log("model %s is not available: %s", model_.c_str(), error.c_str());
    set_state({Phase::unavailable, 0.0, error});
    return;
  }
  daemon_log("model %s loaded on %s", model_.c_str(), device_.c_str());
  set_state({Phase::ready, 100.0, ""});
}

// Downloads the cache's missing files of a known model. Returns "" or why the
// model cannot be had, with the way to install it by hand.
std::string ModelProvisioner::download_missing_files() {
  const KnownModel *known = find_known_model(model_);
  if (known == nullptr) return "";  // a .th path: nothing to download
  const ModelCache cache = ModelCache::from_environment();
  for (std::size_t i = 0; i < known->files.size(); ++i) {
    const ModelFile &file = known->files[i];
    if (cache.state_of(file) == CachedFileState::verified) continue;
    daemon_log("model %s: downloading %s into %s", model_.c_str(), file.url().c_str(), cache.folder().c_str());
    set_state({Phase::downloading, 0.0, ""});
    int last_logged = -10;
    const std::size_t count = known->files.size();
    try {
      fetch_model_file(cache, file, [&](std::int64_t done, std::int64_t total) {
        if (total <= 0) return;
        const double percent = (100.0 * static_cast<double>(i) + 100.0 * done / total) / count;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          state_.download_percent = percent;
        }
        if (static_cast<int>(percent) >= last_logged + 10) {
          last_logged = static_cast<int>(percent) / 10 * 10;
          daemon_log("model %s: %d%% downloaded", model_.c_str(), last_logged);
        }
      }, cancellable_);
    } catch (const std::exception &download_error) {
      // The downloader's message names the URL and the folder to put the file in.
      std::string reason = download_error.what();
      std::replace(reason.begin(), reason.end(), '\n', ' ');
      return "the model " + model_ + " is not in the model cache and could not be downloaded: " + reason +
             " (or run `demucs-vocals fetch " + model_ + "`), then restart demucs-vocalsd.";
    }
  }
  return "";
}

// Loads the model into a demucsvocals element kept in READY. Returns "" or the
// element's error message.
std::string ModelProvisioner::load() {
  if (!demucs_element_available())
    return "the demucsvocals GStreamer element is not installed (looked in " + demucs_plugin_folder() + ")";
  GstElement *pipeline = gst_pipeline_new("model-holder");
  GstElement *element = gst_element_factory_make(kDemucsElementName, nullptr);
  if (element == nullptr) {
    gst_object_unref(pipeline);
    return "cannot create the demucsvocals element";
  }
  g_object_set(element, "model", model_.c_str(), "device", device_.c_str(), nullptr);
  if (!precision_.empty()) gst_util_set_object_arg(G_OBJECT(element), "precision", precision_.c_str());
  if (!config_.empty()) g_object_set(element, "config", config_.c_str(), nullptr);
  gst_bin_add(GST_BIN(pipeline), element);
  if (gst_element_set_state(pipeline, GST_STATE_READY) == GST_STATE_CHANGE_FAILURE) {
    std::string message = "cannot load the model";
    GstBus *bus = gst_element_get_bus(pipeline);
    if (GstMessage *error_message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
      GError *error = nullptr;
      gst_message_parse_error(error_message, &error, nullptr);
      if (error) message = error->message;
      g_clear_error(&error);
      gst_message_unref(error_message);
    }
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    return message;
  }
  // Loadable: that is what the daemon needed to know. Each job's worker
  // process loads its own copy, so this one is let go.
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return "";
}

}  // namespace demucs
