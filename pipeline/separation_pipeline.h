// One separation as a GStreamer pipeline:
//
//   filesrc location=IN ! decodebin ! audioconvert ! audioresample
//     ! capsfilter caps=audio/x-raw,rate=<model rate> ! demucsvocals <properties>
//     ! audioconvert [! audioresample] ! <encoder> ! filesink location=OUT.partial
//
// with encoder wavenc, flacenc or lamemp3enc. The pipeline is built from
// elements made by name (file names never go through a launch string), and
// decodebin's audio pad is linked when it appears. The capsfilter gets the
// rate the element asks for (its sink caps once the model is loaded), so that
// audioresample converts any input rate rather than passing it through.
//
// Asynchronous: start() returns at once and the callbacks come from the
// GMainContext given to the constructor, so that one main loop (the daemon's)
// can run many separations at once. Progress comes only from the element's
// `demucs-progress` messages. The output is written to OUT.partial and renamed
// to OUT on success; on failure or cancel() nothing is left at either name.
// SeparationPipeline::run() is the blocking form, for the command line.
//
// Several stems (SeparationSettings::stems) come from one pass of
// demucsdemux, a branch per stem made when the element's pad appears (the
// model is loaded then, so "all" knows the model's stems):
//
//   ... ! capsfilter ! demucsdemux name=d
//     d.src_<stem> ! queue ! audioconvert [! audioresample] ! <encoder>
//       ! filesink location=FOLDER/<name>_<stem>.<format>.partial
//     ...
#pragma once

#include "output_format.h"

#include <gio/gio.h>
#include <gst/gst.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace demucs {

/// What to separate and how. Empty strings and absent numbers keep the
/// demucsvocals element's defaults.
struct SeparationSettings {
  std::string input_path;
  std::string output_path;
  OutputFormat format = OutputFormat::wav;

  std::string model;   ///< "htdemucs" (a known name, from the model cache), a .th or a RoFormer .ckpt path
  std::string config;  ///< a RoFormer .ckpt's YAML (the element's config property; "" = beside it)
  std::string device;  ///< auto, cpu, cuda
  std::string precision;  ///< fp32, fp16, bf16 (the element's precision property)
  std::string stem;    ///< vocals, instrumental or a source of the model
  std::optional<double> segment;  ///< seconds
  std::optional<double> overlap;  ///< 0..1
  std::optional<int> shifts;
  std::optional<std::uint64_t> seed;
  std::optional<int> threads;
  std::optional<int> batch_size;

  /// Several stems from one pass: when not empty, `stem` and `output_path`
  /// are not used; each stem (or with {"all"} every stem of the model) is
  /// written to stem_output_path(output_folder, output_name, stem, format).
  /// All or none: a failure leaves no file.
  std::vector<std::string> stems;
  std::string output_folder;
  std::string output_name;  ///< default: the input's file name without its extension
};

/// The stems of a text: "vocals,instrumental" (spaces ignored), "all" stays {"all"}.
std::vector<std::string> parse_stem_list(const std::string &text);

/// FOLDER/<name>_<stem>.<format>.
std::string stem_output_path(const std::string &folder, const std::string &name, const std::string &stem,
                             OutputFormat format);

/// The input's file name without folder and extension: "/a/Song.v2.mp3" -> "Song.v2".
std::string output_name_of_input(const std::string &input_path);

/// The path the output is written to until it is complete: OUT + ".partial".
std::string partial_output_path(const std::string &output_path);

/// How a blocking run() ended.
struct SeparationResult {
  bool ok = false;
  /// The files written, stem by stem, in the model's order (one for one stem).
  std::vector<std::pair<std::string, std::string>> files;  ///< (stem, path)
  bool cancelled = false;     ///< stopped by the GCancellable given to run()
  std::string error_message;  ///< for a user; empty when ok
};

class SeparationPipeline {
 public:
  /// percent 0..100, never decreasing; processed and total stream time in
  /// nanoseconds (total is GST_CLOCK_TIME_NONE while unknown).
  using ProgressCallback = std::function<void(double percent, GstClockTime processed, GstClockTime total)>;
  /// Called once at the end: ok, or false with a message for a user. The
  /// SeparationPipeline may be destroyed from inside this callback.
  using DoneCallback = std::function<void(bool ok, const std::string &error_message)>;

  /// `context`: where the callbacks run; nullptr for the calling thread's
  /// default context (g_main_context_ref_thread_default()). Initialises
  /// GStreamer if nobody has.
  explicit SeparationPipeline(SeparationSettings settings, GMainContext *context = nullptr);
  /// Stops a running separation as cancel() does.
  ~SeparationPipeline();
  SeparationPipeline(const SeparationPipeline &) = delete;
  SeparationPipeline &operator=(const SeparationPipeline &) = delete;

  /// Builds and starts the pipeline. Returns at once; every outcome, a
  /// missing input or element included, comes through `on_done` (never from
  /// inside start()). Call once.
  void start(ProgressCallback on_progress, DoneCallback on_done);

  /// Stops at once: the pipeline goes to NULL and the partial file is
  /// deleted. No callback is called afterwards (on_done neither). Does
  /// nothing when not running. May be called from inside on_progress. If the
  /// element is loading its model right then, waits for the load to end.
  void cancel();

  /// Between start() and the end (on_done or cancel()).
  bool running() const { return running_; }
  const SeparationSettings &settings() const { return settings_; }
  /// The last percent reported (0 before any).
  double percent() const { return percent_; }
  /// (stem, path) of the files written: complete once on_done said ok.
  std::vector<std::pair<std::string, std::string>> output_files() const;

  /// Runs one separation to its end on a main context of its own, in the
  /// calling thread. `cancellable` (may be nullptr) stops it as cancel() does.
  static SeparationResult run(const SeparationSettings &settings, ProgressCallback on_progress,
                              GCancellable *cancellable = nullptr);

 private:
  // Builds the pipeline; returns "" or the reason it cannot be built.
  std::string build();
  std::string add_element(const char *factory_name, GstElement **element);
  void fail_later(const std::string &error_message);
  void finish(bool ok, std::string error_message);
  void stop_pipeline();
  void report_progress(const GstStructure *structure);

  // Between the thread that starts the pipeline and stop_pipeline().
  struct StartGate {
    std::mutex mutex;
    bool stopped = false;
  };
  static void start_playing(GstElement *pipeline, gpointer gate);
  static gboolean on_bus_message(GstBus *bus, GstMessage *message, gpointer self);
  static gboolean on_deferred_failure(gpointer self);
  static void on_pad_added(GstElement *decoder, GstPad *pad, gpointer self);
  static void on_no_more_pads(GstElement *decoder, gpointer self);
  // Multi-stem: a branch per stem, made and linked as demucsdemux's pads appear.
  bool wants_stem(const std::string &stem) const;
  std::string add_stem_branch(GstPad *pad, const std::string &stem);
  static void on_stem_pad_added(GstElement *demux, GstPad *pad, gpointer self);
  static void on_stem_pads_done(GstElement *demux, gpointer self);
  void require_model_rate();

  // A file being written: where it goes and where it is written until the end.
  struct OutputFile {
    std::string stem;
    std::string path;
    std::string partial_path;
  };

  SeparationSettings settings_;
  std::vector<OutputFile> outputs_;  // multi-stem: grows as pads appear (under start_gate_)
  GMainContext *context_;
  GstElement *pipeline_ = nullptr;
  GstElement *decoder_ = nullptr;
  GstElement *decoded_converter_ = nullptr;  // where decodebin's audio pad goes
  GstElement *model_rate_filter_ = nullptr;
  GstElement *separator_ = nullptr;
  GSource *bus_source_ = nullptr;
  GSource *deferred_failure_source_ = nullptr;
  std::string deferred_failure_;
  ProgressCallback on_progress_;
  DoneCallback on_done_;
  std::shared_ptr<StartGate> start_gate_;
  std::vector<std::string> missing_plugins_;
  std::atomic<bool> audio_linked_{false};
  double percent_ = 0.0;
  bool started_ = false;
  bool running_ = false;
};

}  // namespace demucs
