#include "separation_pipeline.h"

#include "demucs_plugin_location.h"
#include "pipeline_error_text.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <gst/pbutils/pbutils.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace demucs {

namespace {

// fsync(2) of a file or folder; false with `error` when it fails (ENOSPC can
// show only here, when the file system writes what it had cached).
bool sync_file(const std::string &path, std::string &error) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    error = "cannot write " + path + " to disk: " + g_strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  close(fd);
  return true;
}

constexpr const char *kProgressMessageName = "demucs-progress";
constexpr const char *kStartFailedMessageName = "separation-start-failed";

std::string number_text(double value) {
  gchar buffer[G_ASCII_DTOSTR_BUF_SIZE];
  return g_ascii_dtostr(buffer, sizeof buffer, value);
}

// Sets a property of `element` from its text form, whatever the property's
// type (number, string, enum nick). Returns "" or what is wrong.
std::string set_property_from_text(GstElement *element, const char *name, const std::string &text) {
  GParamSpec *spec = g_object_class_find_property(G_OBJECT_GET_CLASS(element), name);
  const std::string element_name = GST_OBJECT_NAME(gst_element_get_factory(element));
  if (spec == nullptr) return "the " + element_name + " element has no property \"" + name + "\"";
  GValue value = G_VALUE_INIT;
  g_value_init(&value, G_PARAM_SPEC_VALUE_TYPE(spec));
  std::string problem;
  if (!gst_value_deserialize_with_pspec(&value, text.c_str(), spec)) {
    problem = "invalid " + std::string(name) + " \"" + text + "\"";
  } else if (g_param_value_validate(spec, &value)) {  // true when it had to change the value
    problem = std::string(name) + " " + text + " is out of range";
  } else {
    g_object_set_property(G_OBJECT(element), name, &value);
  }
  g_value_unset(&value);
  return problem;
}

bool is_audio_pad(GstPad *pad) {
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (caps == nullptr) caps = gst_pad_query_caps(pad, nullptr);
  if (caps == nullptr) return false;
  bool audio = false;
  if (gst_caps_get_size(caps) > 0) {
    const gchar *media = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    audio = g_str_has_prefix(media, "audio/");
  }
  gst_caps_unref(caps);
  return audio;
}

void remove_file(const std::string &path) {
  if (g_remove(path.c_str()) != 0 && errno != ENOENT)
    g_warning("cannot remove %s: %s", path.c_str(), g_strerror(errno));
}

}  // namespace

std::string partial_output_path(const std::string &output_path) { return output_path + ".partial"; }

std::vector<std::string> parse_stem_list(const std::string &text) {
  std::vector<std::string> stems;
  gchar **parts = g_strsplit(text.c_str(), ",", -1);
  for (gchar **part = parts; *part != nullptr; ++part) {
    const std::string stem = g_strstrip(*part);
    if (!stem.empty() && std::find(stems.begin(), stems.end(), stem) == stems.end()) stems.push_back(stem);
  }
  g_strfreev(parts);
  if (std::find(stems.begin(), stems.end(), "all") != stems.end()) return {"all"};
  return stems;
}

std::string stem_output_path(const std::string &folder, const std::string &name, const std::string &stem,
                             OutputFormat format) {
  gchar *path = g_build_filename(folder.c_str(), (name + "_" + stem + "." + output_format_name(format)).c_str(),
                                 nullptr);
  std::string text = path;
  g_free(path);
  return text;
}

std::string output_name_of_input(const std::string &input_path) {
  gchar *base = g_path_get_basename(input_path.c_str());
  std::string name = base;
  g_free(base);
  const auto dot = name.rfind('.');
  if (dot != std::string::npos && dot > 0) name.erase(dot);
  return name;
}

SeparationPipeline::SeparationPipeline(SeparationSettings settings, GMainContext *context)
    : settings_(std::move(settings)),
      context_(context != nullptr ? g_main_context_ref(context) : g_main_context_ref_thread_default()) {
  if (!gst_is_initialized()) initialize_gstreamer_with_demucs_plugin();
  if (settings_.stems.empty()) {
    outputs_.push_back({settings_.stem, settings_.output_path, partial_output_path(settings_.output_path)});
  } else if (settings_.output_name.empty()) {
    settings_.output_name = output_name_of_input(settings_.input_path);
  }
}

std::vector<std::pair<std::string, std::string>> SeparationPipeline::output_files() const {
  std::vector<std::pair<std::string, std::string>> files;
  for (const OutputFile &output : outputs_) files.emplace_back(output.stem, output.path);
  return files;
}

SeparationPipeline::~SeparationPipeline() {
  cancel();
  if (pipeline_ != nullptr) gst_object_unref(pipeline_);
  g_main_context_unref(context_);
}

void SeparationPipeline::start(ProgressCallback on_progress, DoneCallback on_done) {
  g_return_if_fail(!started_);
  started_ = true;
  running_ = true;
  on_progress_ = std::move(on_progress);
  on_done_ = std::move(on_done);

  const std::string problem = build();
  if (!problem.empty()) {
    fail_later(problem);
    return;
  }
  GstBus *bus = gst_element_get_bus(pipeline_);
  bus_source_ = gst_bus_create_watch(bus);
  gst_object_unref(bus);
  g_source_set_callback(bus_source_, G_SOURCE_FUNC(on_bus_message), this, nullptr);
  g_source_attach(bus_source_, context_);

  // NULL -> READY loads the model (seconds for a large one): not on the
  // caller's main loop but in GStreamer's thread pool.
  start_gate_ = std::make_shared<StartGate>();
  gst_element_call_async(pipeline_, start_playing, new std::shared_ptr<StartGate>(start_gate_),
                         [](gpointer gate) { delete static_cast<std::shared_ptr<StartGate> *>(gate); });
}

void SeparationPipeline::start_playing(GstElement *pipeline, gpointer gate_pointer) {
  const std::shared_ptr<StartGate> &gate = *static_cast<std::shared_ptr<StartGate> *>(gate_pointer);
  std::lock_guard<std::mutex> lock(gate->mutex);
  if (gate->stopped) return;
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The element that failed has posted an ERROR first; this is the fallback.
    gst_element_post_message(pipeline, gst_message_new_application(GST_OBJECT(pipeline),
                                                                   gst_structure_new_empty(kStartFailedMessageName)));
  }
}

std::string SeparationPipeline::add_element(const char *factory_name, GstElement **element) {
  const bool ours =
      std::strcmp(factory_name, kDemucsElementName) == 0 || std::strcmp(factory_name, kDemucsDemuxElementName) == 0;
  if (ours && !demucs_element_available())
    return missing_element_text(factory_name);
  *element = gst_element_factory_make(factory_name, nullptr);
  if (*element == nullptr) return missing_element_text(factory_name);
  gst_bin_add(GST_BIN(pipeline_), *element);
  return "";
}

std::string SeparationPipeline::build() {
  const std::string &input = settings_.input_path;
  if (!g_file_test(input.c_str(), G_FILE_TEST_EXISTS)) return "the input file " + input + " does not exist";
  if (g_file_test(input.c_str(), G_FILE_TEST_IS_DIR)) return "the input " + input + " is a folder, not an audio file";
  const bool several_stems = !settings_.stems.empty();
  if (!several_stems && settings_.output_path.empty()) return "no output file given";
  gchar *output_folder = several_stems ? g_strdup(settings_.output_folder.c_str())
                                       : g_path_get_dirname(settings_.output_path.c_str());
  const bool folder_exists = g_file_test(output_folder, G_FILE_TEST_IS_DIR);
  const std::string folder_text = output_folder;
  g_free(output_folder);
  if (!folder_exists) return "the output folder " + folder_text + " does not exist";

  pipeline_ = gst_pipeline_new("separation");
  gst_object_ref_sink(pipeline_);
  GstElement *source = nullptr, *input_resampler = nullptr;
  GstElement *output_converter = nullptr, *encoder = nullptr, *sink = nullptr;
  GstElement *output_resampler = nullptr;
  const bool resample_output = settings_.format == OutputFormat::mp3;
  for (const auto &[factory, element] : std::vector<std::pair<const char *, GstElement **>>{
           {"filesrc", &source},
           {"decodebin", &decoder_},
           {"audioconvert", &decoded_converter_},
           {"audioresample", &input_resampler},
           {"capsfilter", &model_rate_filter_},
           {several_stems ? kDemucsDemuxElementName : kDemucsElementName, &separator_}}) {
    const std::string problem = add_element(factory, element);
    if (!problem.empty()) return problem;
  }
  if (!several_stems) {
    for (const auto &[factory, element] : std::vector<std::pair<const char *, GstElement **>>{
             {"audioconvert", &output_converter},
             {encoder_factory_name(settings_.format), &encoder},
             {"filesink", &sink}}) {
      const std::string problem = add_element(factory, element);
      if (!problem.empty()) return problem;
    }
  }
  if (resample_output && !several_stems) {
    const std::string problem = add_element("audioresample", &output_resampler);
    if (!problem.empty()) return problem;
  }

  g_object_set(source, "location", input.c_str(), nullptr);
  if (!several_stems) g_object_set(sink, "location", outputs_.front().partial_path.c_str(), nullptr);
  const std::vector<std::pair<const char *, std::string>> properties = {
      {"model", settings_.model},
      {"config", settings_.config},
      {"device", settings_.device},
      {"precision", settings_.precision},
      {"stem", several_stems ? "" : settings_.stem},
      {"segment", settings_.segment ? number_text(*settings_.segment) : ""},
      {"overlap", settings_.overlap ? number_text(*settings_.overlap) : ""},
      {"shifts", settings_.shifts ? std::to_string(*settings_.shifts) : ""},
      {"seed", settings_.seed ? std::to_string(*settings_.seed) : ""},
      {"threads", settings_.threads ? std::to_string(*settings_.threads) : ""},
      {"batch-size", settings_.batch_size ? std::to_string(*settings_.batch_size) : ""},
  };
  for (const auto &[name, text] : properties) {
    if (text.empty()) continue;
    const std::string problem = set_property_from_text(separator_, name, text);
    if (!problem.empty()) return problem;
  }

  bool linked = gst_element_link(source, decoder_) &&
                gst_element_link_many(decoded_converter_, input_resampler, model_rate_filter_, separator_, nullptr);
  if (several_stems) {
    g_signal_connect(separator_, "pad-added", G_CALLBACK(on_stem_pad_added), this);
    g_signal_connect(separator_, "no-more-pads", G_CALLBACK(on_stem_pads_done), this);
  } else {
    linked = linked && gst_element_link(separator_, output_converter) &&
             (resample_output ? gst_element_link_many(output_converter, output_resampler, encoder, sink, nullptr)
                              : gst_element_link_many(output_converter, encoder, sink, nullptr));
  }
  if (!linked) return "cannot link the separation pipeline's elements (incompatible element versions?)";
  g_signal_connect(decoder_, "pad-added", G_CALLBACK(on_pad_added), this);
  g_signal_connect(decoder_, "no-more-pads", G_CALLBACK(on_no_more_pads), this);
  return "";
}

bool SeparationPipeline::wants_stem(const std::string &stem) const {
  const std::vector<std::string> &stems = settings_.stems;
  return (stems.size() == 1 && stems.front() == "all") || std::find(stems.begin(), stems.end(), stem) != stems.end();
}

// pad ! queue ! audioconvert [! audioresample] ! encoder ! filesink, in the
// pipeline's state.
std::string SeparationPipeline::add_stem_branch(GstPad *pad, const std::string &stem) {
  const bool resample_output = settings_.format == OutputFormat::mp3;
  GstElement *queue = nullptr, *converter = nullptr, *resampler = nullptr, *encoder = nullptr, *sink = nullptr;
  std::vector<std::pair<const char *, GstElement **>> elements = {{"queue", &queue}, {"audioconvert", &converter}};
  if (resample_output) elements.emplace_back("audioresample", &resampler);
  elements.emplace_back(encoder_factory_name(settings_.format), &encoder);
  elements.emplace_back("filesink", &sink);
  for (const auto &[factory, element] : elements) {
    const std::string problem = add_element(factory, element);
    if (!problem.empty()) return problem;
  }
  OutputFile output{stem, stem_output_path(settings_.output_folder, settings_.output_name, stem, settings_.format),
                    ""};
  output.partial_path = partial_output_path(output.path);
  g_object_set(sink, "location", output.partial_path.c_str(), nullptr);
  const bool linked = resample_output ? gst_element_link_many(queue, converter, resampler, encoder, sink, nullptr)
                                      : gst_element_link_many(queue, converter, encoder, sink, nullptr);
  GstPad *branch = gst_element_get_static_pad(queue, "sink");
  const bool pad_linked = linked && !GST_PAD_LINK_FAILED(gst_pad_link(pad, branch));
  gst_object_unref(branch);
  if (!pad_linked) return "cannot connect the " + stem + " stem to its encoder";
  for (const auto &[factory, element] : elements) gst_element_sync_state_with_parent(*element);
  outputs_.push_back(std::move(output));
  return "";
}

// demucsdemux's pads appear when it loads the model (NULL -> READY).
void SeparationPipeline::on_stem_pad_added(GstElement *demux, GstPad *pad, gpointer self) {
  auto *separation = static_cast<SeparationPipeline *>(self);
  const std::string stem = std::string(GST_PAD_NAME(pad)).substr(std::strlen("src_"));
  if (!separation->wants_stem(stem)) return;
  const std::string problem = separation->add_stem_branch(pad, stem);
  if (!problem.empty()) GST_ELEMENT_ERROR(demux, CORE, NEGOTIATION, ("%s", problem.c_str()), (nullptr));
}

// Every pad is there: a stem without one is not a stem of the model.
void SeparationPipeline::on_stem_pads_done(GstElement *demux, gpointer self) {
  auto *separation = static_cast<SeparationPipeline *>(self);
  std::string valid;
  GST_OBJECT_LOCK(demux);
  for (GList *pad = demux->srcpads; pad != nullptr; pad = pad->next)
    valid += (valid.empty() ? "" : ", ") + std::string(GST_PAD_NAME(pad->data)).substr(4);
  GST_OBJECT_UNLOCK(demux);
  for (const std::string &stem : separation->settings_.stems) {
    if (stem == "all") continue;
    const auto &outputs = separation->outputs_;
    if (std::none_of(outputs.begin(), outputs.end(), [&](const OutputFile &output) { return output.stem == stem; })) {
      GST_ELEMENT_ERROR(demux, LIBRARY, SETTINGS,
                        ("Invalid setting: unknown stem '%s' for this model; valid stems: %s", stem.c_str(),
                         valid.c_str()),
                        (nullptr));
      return;
    }
  }
}

void SeparationPipeline::on_pad_added(GstElement *, GstPad *pad, gpointer self) {
  auto *separation = static_cast<SeparationPipeline *>(self);
  if (!is_audio_pad(pad)) return;
  GstPad *sink_pad = gst_element_get_static_pad(separation->decoded_converter_, "sink");
  if (!gst_pad_is_linked(sink_pad)) {  // the first audio stream; others are left unlinked
    separation->require_model_rate();
    if (GST_PAD_LINK_FAILED(gst_pad_link(pad, sink_pad))) {
      GST_ELEMENT_ERROR(separation->decoder_, CORE, NEGOTIATION,
                        ("cannot connect the decoded audio of %s to the converter",
                         separation->settings_.input_path.c_str()),
                        (nullptr));
    } else {
      separation->audio_linked_ = true;
    }
  }
  gst_object_unref(sink_pad);
}

void SeparationPipeline::require_model_rate() {
  // Decoded audio appears after READY, when the element has loaded its model
  // and its sink caps carry the model's rate.
  GstPad *separator_sink = gst_element_get_static_pad(separator_, "sink");
  GstCaps *accepted = gst_pad_query_caps(separator_sink, nullptr);
  gst_object_unref(separator_sink);
  int rate = 0;
  if (accepted != nullptr && gst_caps_get_size(accepted) > 0 &&
      gst_structure_get_int(gst_caps_get_structure(accepted, 0), "rate", &rate)) {
    GstCaps *at_rate = gst_caps_new_simple("audio/x-raw", "rate", G_TYPE_INT, rate, nullptr);
    g_object_set(model_rate_filter_, "caps", at_rate, nullptr);
    gst_caps_unref(at_rate);
  }
  if (accepted != nullptr) gst_caps_unref(accepted);
}

void SeparationPipeline::on_no_more_pads(GstElement *, gpointer self) {
  auto *separation = static_cast<SeparationPipeline *>(self);
  if (separation->audio_linked_) return;
  GST_ELEMENT_ERROR(separation->decoder_, STREAM, WRONG_TYPE,
                    ("%s has no audio stream", separation->settings_.input_path.c_str()), (nullptr));
}

void SeparationPipeline::fail_later(const std::string &error_message) {
  if (deferred_failure_source_ != nullptr) return;
  deferred_failure_ = error_message;
  deferred_failure_source_ = g_idle_source_new();
  g_source_set_callback(deferred_failure_source_, on_deferred_failure, this, nullptr);
  g_source_attach(deferred_failure_source_, context_);
}

gboolean SeparationPipeline::on_deferred_failure(gpointer self) {
  auto *separation = static_cast<SeparationPipeline *>(self);
  separation->finish(false, separation->deferred_failure_);  // may delete separation
  return G_SOURCE_REMOVE;
}

void SeparationPipeline::report_progress(const GstStructure *structure) {
  double percent = 0.0;
  if (!gst_structure_get_double(structure, "percent", &percent)) return;
  guint64 processed = 0;
  guint64 total = GST_CLOCK_TIME_NONE;
  gst_structure_get_uint64(structure, "processed", &processed);
  gst_structure_get_uint64(structure, "total", &total);
  percent_ = std::max(percent_, std::clamp(percent, 0.0, 100.0));
  // A copy: the callback may cancel() (which drops on_progress_) or delete this.
  const ProgressCallback on_progress = on_progress_;
  if (on_progress) on_progress(percent_, processed, total);
}

gboolean SeparationPipeline::on_bus_message(GstBus *, GstMessage *message, gpointer self) {
  auto *separation = static_cast<SeparationPipeline *>(self);
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ERROR:
      // finish() destroys this source and may delete `separation`.
      separation->finish(false, bus_error_text(message, separation->settings_.input_path,
                                               separation->missing_plugins_));
      return G_SOURCE_REMOVE;
    case GST_MESSAGE_EOS:
      separation->finish(true, "");
      return G_SOURCE_REMOVE;
    case GST_MESSAGE_APPLICATION:
      if (gst_message_has_name(message, kStartFailedMessageName)) {
        separation->finish(false, "the separation pipeline could not start");
        return G_SOURCE_REMOVE;
      }
      return G_SOURCE_CONTINUE;
    case GST_MESSAGE_ELEMENT:
      if (gst_is_missing_plugin_message(message)) {
        gchar *description = gst_missing_plugin_message_get_description(message);
        if (description != nullptr) separation->missing_plugins_.emplace_back(description);
        g_free(description);
      } else if (const GstStructure *structure = gst_message_get_structure(message);
                 structure != nullptr && gst_structure_has_name(structure, kProgressMessageName)) {
        separation->report_progress(structure);
      }
      return G_SOURCE_CONTINUE;
    default:
      return G_SOURCE_CONTINUE;
  }
}

void SeparationPipeline::stop_pipeline() {
  if (bus_source_ != nullptr) {
    g_source_destroy(bus_source_);
    g_source_unref(bus_source_);
    bus_source_ = nullptr;
  }
  if (deferred_failure_source_ != nullptr) {
    g_source_destroy(deferred_failure_source_);
    g_source_unref(deferred_failure_source_);
    deferred_failure_source_ = nullptr;
  }
  if (pipeline_ != nullptr) {
    // Waits for a start in progress, or keeps one not begun from starting.
    std::unique_lock<std::mutex> lock;
    if (start_gate_) {
      lock = std::unique_lock<std::mutex>(start_gate_->mutex);
      start_gate_->stopped = true;
    }
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    // The pad-added handlers must not run on a later restart of these elements.
    if (decoder_ != nullptr) g_signal_handlers_disconnect_by_data(decoder_, this);
    if (separator_ != nullptr) g_signal_handlers_disconnect_by_data(separator_, this);
  }
  running_ = false;
}

void SeparationPipeline::finish(bool ok, std::string error_message) {
  if (!running_) return;
  stop_pipeline();  // closes the files
  // On disk before it is called done: the files, then their names in the folder.
  for (const OutputFile &output : outputs_)
    if (ok && !sync_file(output.partial_path, error_message)) ok = false;
  for (const OutputFile &output : outputs_) {
    if (ok && g_rename(output.partial_path.c_str(), output.path.c_str()) != 0) {
      ok = false;
      error_message =
          "cannot rename " + output.partial_path + " to " + output.path + ": " + g_strerror(errno);
    }
  }
  if (ok && outputs_.empty()) {
    ok = false;
    error_message = "the model gave none of the stems asked for";
  }
  if (ok) {
    gchar *folder = g_path_get_dirname(outputs_.front().path.c_str());
    sync_file(folder, error_message);  // a folder that cannot be synced is not an error
    error_message.clear();
    g_free(folder);
  }
  if (!ok) {
    for (const OutputFile &output : outputs_) {
      remove_file(output.partial_path);
      if (!settings_.stems.empty()) remove_file(output.path);  // all or none
    }
  }
  DoneCallback on_done = std::move(on_done_);
  on_done_ = nullptr;
  on_progress_ = nullptr;
  if (on_done) on_done(ok, ok ? std::string() : error_message);  // last: it may delete this
}

void SeparationPipeline::cancel() {
  if (!running_) return;
  stop_pipeline();
  for (const OutputFile &output : outputs_) remove_file(output.partial_path);
  on_done_ = nullptr;
  on_progress_ = nullptr;
}

SeparationResult SeparationPipeline::run(const SeparationSettings &settings, ProgressCallback on_progress,
                                         GCancellable *cancellable) {
  GMainContext *context = g_main_context_new();
  g_main_context_push_thread_default(context);
  SeparationResult result;
  bool done = false;
  {
    SeparationPipeline separation(settings, context);
    struct CancelTarget {
      SeparationPipeline *separation;
      SeparationResult *result;
      bool *done;
    } target{&separation, &result, &done};
    GSource *cancel_source = nullptr;
    if (cancellable != nullptr) {
      cancel_source = g_cancellable_source_new(cancellable);
      g_source_set_callback(
          cancel_source,
          G_SOURCE_FUNC(+[](GCancellable *, gpointer data) -> gboolean {
            auto *cancel = static_cast<CancelTarget *>(data);
            cancel->separation->cancel();
            cancel->result->ok = false;
            cancel->result->cancelled = true;
            cancel->result->error_message = "cancelled";
            *cancel->done = true;
            return G_SOURCE_REMOVE;
          }),
          &target, nullptr);
      g_source_attach(cancel_source, context);
    }
    separation.start(std::move(on_progress), [&result, &done, &separation](bool ok, const std::string &message) {
      result.ok = ok;
      result.error_message = message;
      if (ok) result.files = separation.output_files();
      done = true;
    });
    while (!done) g_main_context_iteration(context, TRUE);
    if (cancel_source != nullptr) {
      g_source_destroy(cancel_source);
      g_source_unref(cancel_source);
    }
  }
  g_main_context_pop_thread_default(context);
  g_main_context_unref(context);
  return result;
}

}  // namespace demucs
