// Makes the daemon's model ready once, at start-up:
//
// 1. a known model name (htdemucs) whose files the model cache lacks is
//    downloaded into the cache (progress in the log and in state());
// 2. a demucsvocals element is brought to READY, which loads the model, to
//    know that it loads; then it is let go. Jobs run in worker processes,
//    each of which loads the model from the cache (see worker_process.h).
//
// Both steps run on a thread of their own; the main loop hears of each change
// through the callback. When the model cannot be had (offline, a bad file),
// the state says why and how to install it, and the daemon keeps serving.
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace demucs {

class ModelProvisioner {
 public:
  enum class Phase { downloading, loading, ready, unavailable };

  struct State {
    Phase phase = Phase::loading;
    double download_percent = 0.0;  ///< while downloading
    std::string error_message;      ///< when unavailable: what is wrong and how to fix it
  };

  /// Called on `context` after every change of phase.
  using ChangeCallback = std::function<void(const State &state)>;

  /// `precision` "" keeps the element's default; a device or precision the
  /// element refuses makes the model unavailable, with its words.
  ModelProvisioner(std::string model, std::string device, std::string precision, GMainContext *context,
                   ChangeCallback on_change);
  /// Cancels a download in progress, waits for the thread, unloads the model.
  ~ModelProvisioner();
  ModelProvisioner(const ModelProvisioner &) = delete;
  ModelProvisioner &operator=(const ModelProvisioner &) = delete;

  /// The YAML configuration of a RoFormer .ckpt model (the element's config
  /// property; "" keeps its default, the .yaml beside the checkpoint). Before start().
  void set_config(std::string config) { config_ = std::move(config); }
  /// Starts the download (if needed) and the load.
  void start();
  /// Tries again after the model was unavailable (the file may have been put
  /// into the cache since); does nothing in any other phase.
  void retry();

  State state() const;
  const std::string &model() const { return model_; }
  const std::string &device() const { return device_; }
  static const char *phase_name(Phase phase);

 private:
  void provision();  // on the thread
  std::string download_missing_files();
  std::string load();
  void set_state(State state);

  std::string model_;
  std::string config_;
  std::string device_;
  std::string precision_;
  GMainContext *context_;
  ChangeCallback on_change_;
  GCancellable *cancellable_;
  mutable std::mutex mutex_;
  State state_;
  std::thread thread_;
  std::shared_ptr<std::atomic<bool>> alive_;
};

}  // namespace demucs
