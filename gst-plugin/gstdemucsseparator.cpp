// The streaming core of demucsvocals and demucsdemux (see gstdemucsseparator.h).
//
// Threads: the sink pad's streaming thread (chain, serialized events) queues
// audio and events into the SeparationWorker; a task of the element (not of a
// pad: demucsdemux has several source pads) runs the network and pushes every
// stem to its pad. Upstream is never blocked for the seconds a segment takes,
// while at most about one segment of input waits in the element.
#include "gst-plugin/gstdemucsseparator.h"

#include "demucs/demucs.h"
#include "gst-plugin/input_timeline.h"
#include "gst-plugin/separation_worker.h"

#include <gst/audio/audio.h>
#include <gst/base/gstflowcombiner.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

GST_DEBUG_CATEGORY_STATIC(gst_demucs_separator_debug);
#define GST_CAT_DEFAULT gst_demucs_separator_debug

namespace {

constexpr const char* kDefaultModel = "htdemucs";
constexpr const char* kDefaultDevice = "auto";
constexpr const char* kDefaultPrecision = "fp32";
constexpr double kDefaultSegment = 0.0;
constexpr double kDefaultOverlap = 0.25;
constexpr guint kDefaultShifts = 0;
constexpr guint64 kDefaultSeed = 0;
constexpr gint kDefaultThreads = 0;
constexpr guint kDefaultBatchSize = 1;

// Raw caps of the sink pad; the rate is the model's once it is loaded.
constexpr const char* kSinkCaps =
    "audio/x-raw, format=(string)F32LE, layout=(string)interleaved, rate=(int)[1, MAX], channels=(int)[1, 2]";

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(kSinkCaps));

enum {
  PROP_0,
  PROP_MODEL,
  PROP_CONFIG,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_SEGMENT,
  PROP_OVERLAP,
  PROP_SHIFTS,
  PROP_SEED,
  PROP_THREADS,
  PROP_BATCH_SIZE,
  PROP_FORWARD_PASSES,
};

struct Settings {
  std::string model = kDefaultModel;
  std::string config;  // a RoFormer checkpoint's YAML; "" = beside the checkpoint
  std::string device = kDefaultDevice;
  std::string precision = kDefaultPrecision;
  double segment = kDefaultSegment;
  double overlap = kDefaultOverlap;
  bool overlap_set = false;  // RoFormer models keep their config's num_overlap unless it is set
  guint shifts = kDefaultShifts;
  guint64 seed = kDefaultSeed;
  gint threads = kDefaultThreads;
  guint batch_size = kDefaultBatchSize;
};

// A serialized event waiting in the worker's queue with the audio around it.
class QueuedEvent : public demucs::SeparationWorker::Marker {
 public:
  explicit QueuedEvent(GstEvent* event) : event_(event) {}
  ~QueuedEvent() override {
    if (event_ != nullptr) {
      gst_event_unref(event_);
    }
  }
  GstEvent* release() { return std::exchange(event_, nullptr); }

 private:
  GstEvent* event_;
};

// Follows a restart: the timestamp of the new stream's first frame.
class StreamStart : public demucs::SeparationWorker::Marker {
 public:
  explicit StreamStart(GstClockTime timestamp) : timestamp(timestamp) {}
  const GstClockTime timestamp;
};

// A source pad, the stem it carries and its own stream state (task-only).
struct Output {
  GstPad* pad = nullptr;  // owned (a reference)
  gsize stem = 0;
  bool discont = true;    // the next buffer starts a stream
};

}  // namespace

// Everything of the element that is not a pad: C++ members, constructed in
// init and destroyed in finalize.
struct DemucsSeparatorState {
  Settings settings;  // under the object lock
  // From READY on.
  std::unique_ptr<demucs::LoadedModel> model;
  std::vector<Output> outputs;  // set at model_loaded; changed only in NULL -> READY
  GstFlowCombiner* combiner = gst_flow_combiner_new();
  // From PAUSED on (created before the pads activate, destroyed after).
  std::unique_ptr<demucs::SeparationWorker> worker;
  GstTask* task = nullptr;
  GRecMutex task_lock;

  // Stream state. Written by the streaming thread while the task cannot read
  // it, or atomic.
  int input_channels = 0;
  std::unique_ptr<demucs::InputTimeline> timeline;  // streaming thread
  // Timestamp of the first frame of the output stream now coming out: set by
  // the streaming thread before the first audio, then by the task at restarts.
  std::atomic<GstClockTime> output_start{GST_CLOCK_TIME_NONE};
  GstSegment segment;  // the last SEGMENT received, under the object lock
  // What the last pushes of the task returned, combined; the chain returns it.
  std::atomic<GstFlowReturn> src_flow{GST_FLOW_OK};
  // Forward calls of the network since READY -> PAUSED (written by the task).
  std::atomic<guint64> forward_passes{0};
  // Task-only.
  double last_percent = 0.0;
  std::int64_t input_at_last_progress = 0;  // frames_processed() at the last message
  std::int64_t frames_before_stream = 0;    // output frames of the streams before this one
  std::int64_t frames_in_stream = 0;        // output frames of this stream so far

  ~DemucsSeparatorState() {
    for (auto& output : outputs) {
      gst_object_unref(output.pad);
    }
    gst_flow_combiner_free(combiner);
  }
};

struct GstDemucsSeparatorPrivate {
  GstPad* sinkpad;
  DemucsSeparatorState* state;
};
using Private = GstDemucsSeparatorPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_CODE(GstDemucsSeparator, gst_demucs_separator, GST_TYPE_ELEMENT,
                                 G_ADD_PRIVATE(GstDemucsSeparator);
                                 GST_DEBUG_CATEGORY_INIT(gst_demucs_separator_debug, "demucsseparator", 0,
                                                         "Demucs stem separation (core of demucsvocals and "
                                                         "demucsdemux)"))

namespace {

Private* private_of(GstDemucsSeparator* self) {
  return static_cast<Private*>(gst_demucs_separator_get_instance_private(self));
}
DemucsSeparatorState* state_of(GstDemucsSeparator* self) { return private_of(self)->state; }
GstPad* sinkpad_of(GstDemucsSeparator* self) { return private_of(self)->sinkpad; }

Settings settings_of(GstDemucsSeparator* self) {
  GST_OBJECT_LOCK(self);
  Settings settings = state_of(self)->settings;
  GST_OBJECT_UNLOCK(self);
  return settings;
}

GstClockTime frames_to_time(std::int64_t frames, int rate) {
  return gst_util_uint64_scale_int(static_cast<guint64>(frames), GST_SECOND, rate);
}

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) {
    text += (text.empty() ? "" : ", ") + item;
  }
  return text;
}

// --- Model loading (NULL -> READY) -------------------------------------------

bool is_roformer_checkpoint(const std::string& model) { return g_str_has_suffix(model.c_str(), ".ckpt"); }

// What to do about a model that is not there: for a path, what file to give.
const char* model_not_found_advice(const std::string& model) {
  if (is_roformer_checkpoint(model)) {
    return ". Give the path of an existing RoFormer .ckpt checkpoint, with its YAML configuration beside it (same "
           "name, .yaml) or named by the config property.";
  }
  if (g_str_has_suffix(model.c_str(), ".th") || g_file_test(model.c_str(), G_FILE_TEST_EXISTS)) {
    return ". Give the path of an existing Demucs .th checkpoint, or a known model name "
           "(`demucs-vocals models` lists them, `demucs-vocals fetch NAME` downloads one).";
  }
  return "";
}

bool load_model(GstDemucsSeparator* self) {
  const Settings settings = settings_of(self);
  const std::vector<std::string> stems = GST_DEMUCS_SEPARATOR_GET_CLASS(self)->stems_to_load(self);
  const std::string stems_text = stems.empty() ? "every stem" : joined(stems);
  try {
    demucs::LoadOptions options;
    options.device = settings.device;
    options.precision = demucs::parse_precision(settings.precision);
    options.config = settings.config;
    auto model = std::make_unique<demucs::LoadedModel>(demucs::load_model(settings.model, stems, options));
    if (model->audio_channels() != demucs::StemStream::kChannels) {
      GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Model %s is not a stereo model.", settings.model.c_str()),
                        ("it has %d audio channels", model->audio_channels()));
      return false;
    }
    GST_INFO_OBJECT(self, "loaded model %s for %s on %s in %s: %d Hz, segment %.2f s", model->name().c_str(),
                    joined(model->stems()).c_str(), model->device().c_str(),
                    demucs::precision_name(model->precision()), model->samplerate(), model->segment_seconds());
    g_object_set_data(G_OBJECT(self), GST_DEMUCS_VOCALS_MODEL_DATA, const_cast<void*>(model->network_identity()));
    GST_OBJECT_LOCK(self);
    state_of(self)->model = std::move(model);
    GST_OBJECT_UNLOCK(self);
    GST_DEMUCS_SEPARATOR_GET_CLASS(self)->model_loaded(self, *state_of(self)->model);
    return true;
  } catch (const demucs::DeviceUnavailableError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("Compute device '%s' with precision %s is not available: %s. Use device=cpu (or "
                       "device=auto) with precision=fp32 or bf16, or device=cuda on a machine with an NVIDIA GPU.",
                       settings.device.c_str(), settings.precision.c_str(), e.what()),
                      (nullptr));
  } catch (const demucs::ModelNotFoundError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("Model '%s' not found: %s%s", settings.model.c_str(), e.what(),
                       model_not_found_advice(settings.model)),
                      (nullptr));
  } catch (const demucs::CheckpointError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ,
                      ("Cannot read the model checkpoint of '%s' (corrupt or not a %s): %s. "
                       "Download it again (`demucs-vocals fetch NAME`) or use another file.",
                       settings.model.c_str(),
                       is_roformer_checkpoint(settings.model) ? "RoFormer checkpoint with its YAML configuration"
                                                              : "Demucs checkpoint",
                       e.what()),
                      (nullptr));
  } catch (const std::invalid_argument& e) {
    // Unknown stem (the message lists the valid ones), device or precision name.
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid setting: %s", e.what()), (nullptr));
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("Cannot load model '%s' for %s: %s", settings.model.c_str(),
                                            stems_text.c_str(), e.what()),
                      (nullptr));
  }
  return false;
}

void unload_model(GstDemucsSeparator* self) {
  g_object_set_data(G_OBJECT(self), GST_DEMUCS_VOCALS_MODEL_DATA, nullptr);
  std::unique_ptr<demucs::LoadedModel> model;
  GST_OBJECT_LOCK(self);
  model = std::move(state_of(self)->model);
  GST_OBJECT_UNLOCK(self);
}

// --- Separation (READY -> PAUSED) ---------------------------------------------

// A RoFormer model's chunks overlap by whole steps (the reference's
// num_overlap): the count whose shared fraction, 1 - 1/n, is nearest `overlap`.
int num_overlap_of(double overlap) {
  return std::max(1, static_cast<int>(std::lround(1.0 / (1.0 - overlap))));
}

bool create_worker(GstDemucsSeparator* self) {
  const Settings settings = settings_of(self);
  DemucsSeparatorState* state = state_of(self);
  demucs::SeparatorOptions options;
  options.segment = settings.segment;
  options.overlap = settings.overlap;
  if (settings.overlap_set) {
    options.num_overlap = num_overlap_of(settings.overlap);
  }
  options.shifts = static_cast<int>(settings.shifts);
  options.seed = settings.seed;
  options.threads = settings.threads;
  options.batch_size = static_cast<int>(settings.batch_size);
  try {
    auto stream = std::make_unique<demucs::StemStream>(*state->model, options);
    // About one segment of unprocessed input may wait for the task.
    const std::int64_t capacity = stream->segment_frames();
    auto worker = std::make_unique<demucs::SeparationWorker>(std::move(stream), capacity);
    GST_OBJECT_LOCK(self);
    state->worker = std::move(worker);
    GST_OBJECT_UNLOCK(self);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid separation settings: %s", e.what()), (nullptr));
    return false;
  }
  state->timeline = std::make_unique<demucs::InputTimeline>(state->worker->samplerate(),
                                                            GST_DEMUCS_ALIGNMENT_THRESHOLD, GST_DEMUCS_MAX_FILLED_GAP);
  GST_INFO_OBJECT(self, "latency %" G_GINT64_FORMAT " frames, queue %" G_GINT64_FORMAT " frames",
                  static_cast<gint64>(state->worker->latency_frames()),
                  static_cast<gint64>(state->worker->capacity_frames()));
  return true;
}

void reset_stream_state(GstDemucsSeparator* self) {
  DemucsSeparatorState* state = state_of(self);
  state->input_channels = 0;
  if (state->timeline) {
    state->timeline->reset();
  }
  state->output_start = GST_CLOCK_TIME_NONE;
  state->src_flow = GST_FLOW_OK;
  state->input_at_last_progress = 0;
  state->frames_before_stream = 0;
  state->frames_in_stream = 0;
  for (auto& output : state->outputs) {
    output.discont = true;
  }
  gst_flow_combiner_reset(state->combiner);
  GST_OBJECT_LOCK(self);
  gst_segment_init(&state->segment, GST_FORMAT_TIME);
  GST_OBJECT_UNLOCK(self);
}

// --- Task -------------------------------------------------------------------------

GstClockTime output_start_or_zero(DemucsSeparatorState* state) {
  const GstClockTime start = state->output_start.load();
  return GST_CLOCK_TIME_IS_VALID(start) ? start : 0;
}

void post_progress(GstDemucsSeparator* self, bool at_end) {
  DemucsSeparatorState* state = state_of(self);
  state->input_at_last_progress = state->worker->frames_processed();
  const int rate = state->worker->samplerate();
  const GstClockTime processed = output_start_or_zero(state) + frames_to_time(state->worker->frames_output(), rate);
  gint64 duration = -1;
  GstClockTime total = GST_CLOCK_TIME_NONE;
  if (gst_pad_peer_query_duration(sinkpad_of(self), GST_FORMAT_TIME, &duration) && duration > 0) {
    total = static_cast<GstClockTime>(duration);
  }
  double percent = state->last_percent;
  if (at_end) {
    percent = 100.0;
  } else if (GST_CLOCK_TIME_IS_VALID(total)) {
    percent = std::min(100.0, 100.0 * static_cast<double>(processed) / static_cast<double>(total));
  }
  percent = std::max(percent, state->last_percent);
  state->last_percent = percent;
  GstStructure* fields =
      gst_structure_new(GST_DEMUCS_VOCALS_PROGRESS_MESSAGE, "processed", G_TYPE_UINT64, processed, "total",
                        G_TYPE_UINT64, total, "percent", G_TYPE_DOUBLE, percent, nullptr);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), fields));
}

// Only the stems of linked pads are copied out of the separation.
void want_linked_stems(DemucsSeparatorState* state) {
  std::vector<bool> wanted(state->worker->stems().size(), false);
  for (const auto& output : state->outputs) {
    if (gst_pad_is_linked(output.pad)) {
      wanted[output.stem] = true;
    }
  }
  for (size_t i = 0; i < wanted.size(); ++i) {
    state->worker->set_stem_wanted(i, wanted[i]);
  }
}

GstFlowReturn push_stem(GstDemucsSeparator* self, Output& output, const demucs::SeparationWorker::Output& audio) {
  DemucsSeparatorState* state = state_of(self);
  const std::vector<float>& samples = audio.stems[output.stem];
  if (samples.empty()) {
    return GST_FLOW_NOT_LINKED;  // not wanted: the pad was not linked
  }
  const int rate = state->worker->samplerate();
  const gsize bytes = samples.size() * sizeof(float);
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, bytes, nullptr);
  gst_buffer_fill(buffer, 0, samples.data(), bytes);
  const GstClockTime first = output_start_or_zero(state);
  const GstClockTime start = first + frames_to_time(audio.first_frame, rate);
  const GstClockTime end = first + frames_to_time(audio.first_frame + audio.frames, rate);
  GST_BUFFER_PTS(buffer) = start;
  GST_BUFFER_DURATION(buffer) = end - start;
  // Offsets count the frames of the whole output, across restarts.
  const std::int64_t offset = state->frames_before_stream + audio.first_frame;
  GST_BUFFER_OFFSET(buffer) = static_cast<guint64>(offset);
  GST_BUFFER_OFFSET_END(buffer) = static_cast<guint64>(offset + audio.frames);
  if (output.discont) {
    GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
    output.discont = false;
  }
  GST_LOG_OBJECT(output.pad, "pushing %" G_GINT64_FORMAT " frames at %" GST_TIME_FORMAT,
                 static_cast<gint64>(audio.frames), GST_TIME_ARGS(start));
  return gst_pad_push(output.pad, buffer);
}

// Every stem to its pad; the flows combined as demuxers do: not-linked only
// when no pad is linked, EOS only when every pad is at EOS.
GstFlowReturn push_audio(GstDemucsSeparator* self, const demucs::SeparationWorker::Output& audio) {
  DemucsSeparatorState* state = state_of(self);
  GstFlowReturn combined = GST_FLOW_OK;
  for (auto& output : state->outputs) {
    const GstFlowReturn flow = push_stem(self, output, audio);
    combined = gst_flow_combiner_update_pad_flow(state->combiner, output.pad, flow);
  }
  return combined;
}

// A demuxer's pads are streams of their own: each gets its own stream id
// (the upstream one with the stem's name), in the upstream group.
GstEvent* event_for_pad(GstDemucsSeparator* self, GstPad* pad, GstEvent* event) {
  if (GST_EVENT_TYPE(event) != GST_EVENT_STREAM_START || state_of(self)->outputs.size() == 1) {
    return gst_event_ref(event);
  }
  const gchar* upstream_id = nullptr;
  gst_event_parse_stream_start(event, &upstream_id);
  guint group = 0;
  g_autofree gchar* pad_name = gst_pad_get_name(pad);
  g_autofree gchar* id = gst_pad_create_stream_id(pad, GST_ELEMENT(self), pad_name);
  GstEvent* own = gst_event_new_stream_start(id);
  if (gst_event_parse_group_id(event, &group)) {
    gst_event_set_group_id(own, group);
  }
  GstStreamFlags flags = GST_STREAM_FLAG_NONE;
  gst_event_parse_stream_flags(event, &flags);
  gst_event_set_stream_flags(own, flags);
  (void)upstream_id;
  return own;
}

gboolean push_event_to_all(GstDemucsSeparator* self, GstEvent* event) {
  gboolean any = FALSE;
  for (auto& output : state_of(self)->outputs) {
    any = gst_pad_push_event(output.pad, event_for_pad(self, output.pad, event)) || any;
  }
  gst_event_unref(event);
  return any || state_of(self)->outputs.empty();
}

// The task cannot go on: remember why (the chain returns it), wake the chain
// and, for a fatal flow, error out as every element with a task does.
void stop_task(GstDemucsSeparator* self, GstFlowReturn flow) {
  DemucsSeparatorState* state = state_of(self);
  GST_DEBUG_OBJECT(self, "pausing task: %s", gst_flow_get_name(flow));
  state->src_flow = flow;
  state->worker->set_flushing(true);
  gst_task_pause(state->task);
  if (flow == GST_FLOW_NOT_LINKED || flow < GST_FLOW_EOS) {
    GST_ELEMENT_FLOW_ERROR(self, flow);
    push_event_to_all(self, gst_event_new_eos());
  }
}

// Output of one step of the worker, in order. False: the task stopped.
bool push_outputs(GstDemucsSeparator* self, std::vector<demucs::SeparationWorker::Output>& outputs, bool* ended,
                  bool* produced) {
  DemucsSeparatorState* state = state_of(self);
  for (auto& output : outputs) {
    switch (output.kind) {
      case demucs::SeparationWorker::Output::Kind::audio: {
        const GstFlowReturn flow = push_audio(self, output);
        if (flow != GST_FLOW_OK) {
          stop_task(self, flow);
          return false;
        }
        state->frames_in_stream = output.first_frame + output.frames;
        *produced = true;
        break;
      }
      case demucs::SeparationWorker::Output::Kind::marker: {
        if (auto* start = dynamic_cast<StreamStart*>(output.marker.get())) {
          GST_DEBUG_OBJECT(self, "new stream at %" GST_TIME_FORMAT, GST_TIME_ARGS(start->timestamp));
          state->output_start = start->timestamp;
          break;
        }
        GstEvent* event = static_cast<QueuedEvent&>(*output.marker).release();
        GST_DEBUG_OBJECT(self, "forwarding %" GST_PTR_FORMAT, event);
        push_event_to_all(self, event);
        break;
      }
      case demucs::SeparationWorker::Output::Kind::restart:
        // Drained up to a discontinuity: the next buffers start a new stream.
        state->frames_before_stream += state->frames_in_stream;
        state->frames_in_stream = 0;
        state->input_at_last_progress = 0;
        for (auto& pad_output : state->outputs) {
          pad_output.discont = true;
        }
        break;
      case demucs::SeparationWorker::Output::Kind::end:
        post_progress(self, true);
        *ended = true;
        break;
    }
  }
  return true;
}

void task_loop(gpointer data) {
  auto* self = GST_DEMUCS_SEPARATOR(data);
  DemucsSeparatorState* state = state_of(self);
  demucs::SeparationWorker& worker = *state->worker;
  std::vector<demucs::SeparationWorker::Output> outputs;
  try {
    want_linked_stems(state);
    if (!worker.process_next(outputs)) {
      GST_DEBUG_OBJECT(self, "flushing: pausing task");
      gst_task_pause(state->task);
      return;
    }
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Separation failed: %s", e.what()), (nullptr));
    state->src_flow = GST_FLOW_ERROR;
    worker.set_flushing(true);
    gst_task_pause(state->task);
    push_event_to_all(self, gst_event_new_eos());
    return;
  }
  state->forward_passes = static_cast<guint64>(worker.forward_calls());
  bool ended = false;
  bool produced = false;
  if (!push_outputs(self, outputs, &ended, &produced)) {
    return;
  }
  // A message per output, and at least one per segment of input (with a
  // large batch-size, output comes only every few segments).
  if (!ended &&
      (produced || worker.frames_processed() - state->input_at_last_progress >= worker.capacity_frames())) {
    post_progress(self, false);
  }
  if (ended) {
    GST_DEBUG_OBJECT(self, "drained: pausing task");
    gst_task_pause(state->task);
  }
}

void start_task(GstDemucsSeparator* self) { gst_task_start(state_of(self)->task); }

// Pauses the task and waits until it is out of its loop function.
void pause_task(GstDemucsSeparator* self) {
  DemucsSeparatorState* state = state_of(self);
  gst_task_pause(state->task);
  g_rec_mutex_lock(&state->task_lock);
  g_rec_mutex_unlock(&state->task_lock);
}

// --- Sink pad --------------------------------------------------------------------

GstFlowReturn flow_of_refused_push(GstDemucsSeparator* self, demucs::SeparationWorker::PushResult result) {
  DemucsSeparatorState* state = state_of(self);
  switch (result) {
    case demucs::SeparationWorker::PushResult::accepted:
      return state->src_flow.load();
    case demucs::SeparationWorker::PushResult::ended:
      return GST_FLOW_EOS;
    case demucs::SeparationWorker::PushResult::flushing: {
      const GstFlowReturn flow = state->src_flow.load();
      return flow != GST_FLOW_OK ? flow : GST_FLOW_FLUSHING;
    }
  }
  return GST_FLOW_ERROR;
}

std::int64_t timeline_time(GstClockTime timestamp) {
  return GST_CLOCK_TIME_IS_VALID(timestamp) ? static_cast<std::int64_t>(timestamp) : demucs::InputTimeline::kNone;
}

// Input (a buffer, or the silence of a GAP) starts at `timestamp`: start the
// first stream, fill a small hole with silence, or drain and start a new
// stream at a discontinuity (see input_timeline.h).
demucs::SeparationWorker::PushResult place_on_timeline(GstDemucsSeparator* self, GstClockTime timestamp,
                                                       bool discont) {
  DemucsSeparatorState* state = state_of(self);
  demucs::InputTimeline& timeline = *state->timeline;
  if (!timeline.started()) {
    if (!GST_CLOCK_TIME_IS_VALID(timestamp)) {
      GST_OBJECT_LOCK(self);
      timestamp = state->segment.format == GST_FORMAT_TIME ? state->segment.start : 0;
      GST_OBJECT_UNLOCK(self);
    }
    GST_DEBUG_OBJECT(self, "first timestamp %" GST_TIME_FORMAT, GST_TIME_ARGS(timestamp));
    timeline.next(timeline_time(timestamp));
    state->output_start = timestamp;
    return demucs::SeparationWorker::PushResult::accepted;
  }
  const GstClockTime expected = static_cast<GstClockTime>(timeline.expected());
  const demucs::InputTimeline::Step step = timeline.next(timeline_time(timestamp));
  switch (step.kind) {
    case demucs::InputTimeline::Step::Kind::continuous:
      if (discont) {
        GST_DEBUG_OBJECT(self, "DISCONT buffer at the expected time %" GST_TIME_FORMAT ": continuous",
                         GST_TIME_ARGS(timestamp));
      }
      return demucs::SeparationWorker::PushResult::accepted;
    case demucs::InputTimeline::Step::Kind::fill:
      GST_DEBUG_OBJECT(self, "hole of %" G_GINT64_FORMAT " frames before %" GST_TIME_FORMAT ": filled with silence",
                       static_cast<gint64>(step.silence_frames), GST_TIME_ARGS(timestamp));
      return state->worker->push_silence(step.silence_frames);
    case demucs::InputTimeline::Step::Kind::restart:
      GST_INFO_OBJECT(self, "discontinuity: expected %" GST_TIME_FORMAT ", got %" GST_TIME_FORMAT
                      ": draining and starting a new stream",
                      GST_TIME_ARGS(expected), GST_TIME_ARGS(timestamp));
      return state->worker->push_restart(std::make_unique<StreamStart>(timestamp));
  }
  return demucs::SeparationWorker::PushResult::accepted;
}

GstFlowReturn sink_chain(GstPad*, GstObject* parent, GstBuffer* buffer) {
  auto* self = GST_DEMUCS_SEPARATOR(parent);
  DemucsSeparatorState* state = state_of(self);
  const GstFlowReturn flow = state->src_flow.load();
  if (flow != GST_FLOW_OK) {
    gst_buffer_unref(buffer);
    return flow;
  }
  if (state->input_channels == 0) {
    gst_buffer_unref(buffer);
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Received audio before its format (no caps)."), (nullptr));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  const auto placed = place_on_timeline(self, GST_BUFFER_PTS(buffer), GST_BUFFER_IS_DISCONT(buffer));
  if (placed != demucs::SeparationWorker::PushResult::accepted) {
    gst_buffer_unref(buffer);
    return flow_of_refused_push(self, placed);
  }
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    gst_buffer_unref(buffer);
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Cannot read an input buffer."), (nullptr));
    return GST_FLOW_ERROR;
  }
  const auto frames = static_cast<std::int64_t>(map.size / (sizeof(float) * state->input_channels));
  const auto result =
      state->worker->push_audio(reinterpret_cast<const float*>(map.data), frames, state->input_channels);
  gst_buffer_unmap(buffer, &map);
  gst_buffer_unref(buffer);
  state->timeline->advance(frames);
  return flow_of_refused_push(self, result);
}

bool set_input_caps(GstDemucsSeparator* self, GstCaps* caps) {
  DemucsSeparatorState* state = state_of(self);
  GstAudioInfo info;
  if (!gst_audio_info_from_caps(&info, caps)) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Cannot read the input audio format."),
                      ("caps %" GST_PTR_FORMAT, caps));
    return false;
  }
  const int model_rate = state->model->samplerate();
  if (GST_AUDIO_INFO_RATE(&info) != model_rate) {
    const gchar* name = gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(gst_element_get_factory(GST_ELEMENT(self))));
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("Input audio is %d Hz but the model %s works at %d Hz: put audioresample in front of "
                       "%s (for example: ... ! audioconvert ! audioresample ! %s).",
                       GST_AUDIO_INFO_RATE(&info), state->model->name().c_str(), model_rate, name, name),
                      ("caps %" GST_PTR_FORMAT, caps));
    return false;
  }
  state->input_channels = GST_AUDIO_INFO_CHANNELS(&info);
  GST_DEBUG_OBJECT(self, "input: %d Hz, %d channels", model_rate, state->input_channels);
  return true;
}

GstCaps* output_caps(int rate) {
  return gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "layout", G_TYPE_STRING, "interleaved",
                             "rate", G_TYPE_INT, rate, "channels", G_TYPE_INT, demucs::StemStream::kChannels,
                             "channel-mask", GST_TYPE_BITMASK, static_cast<guint64>(0x3), nullptr);
}

gboolean queue_event(GstDemucsSeparator* self, GstEvent* event) {
  const auto result = state_of(self)->worker->push_marker(std::make_unique<QueuedEvent>(event));
  if (result != demucs::SeparationWorker::PushResult::accepted) {
    GST_DEBUG_OBJECT(self, "event refused: %s", result == demucs::SeparationWorker::PushResult::ended
                                                    ? "after end of stream"
                                                    : "flushing");
    return FALSE;
  }
  return TRUE;
}

gboolean sink_event(GstPad* pad, GstObject* parent, GstEvent* event) {
  auto* self = GST_DEMUCS_SEPARATOR(parent);
  DemucsSeparatorState* state = state_of(self);
  GST_LOG_OBJECT(self, "sink event %" GST_PTR_FORMAT, event);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_FLUSH_START: {
      // Not serialized: the chain may be blocked on a full queue and the task
      // inside a push. Wake both, forward, and wait for the task to pause.
      state->worker->set_flushing(true);
      const gboolean forwarded = push_event_to_all(self, event);
      pause_task(self);
      return forwarded;
    }
    case GST_EVENT_FLUSH_STOP: {
      // The chain has returned and the task is paused: start a fresh stream.
      const gboolean forwarded = push_event_to_all(self, event);
      state->worker->reset();
      const int channels = state->input_channels;
      reset_stream_state(self);
      state->input_channels = channels;  // caps stay, as sticky events do
      state->worker->set_flushing(false);
      start_task(self);
      return forwarded;
    }
    case GST_EVENT_CAPS: {
      GstCaps* caps = nullptr;
      gst_event_parse_caps(event, &caps);
      const bool accepted = set_input_caps(self, caps);
      gst_event_unref(event);
      if (!accepted) {
        return FALSE;
      }
      GstCaps* output = output_caps(state->model->samplerate());
      GstEvent* output_event = gst_event_new_caps(output);
      gst_caps_unref(output);
      return queue_event(self, output_event);
    }
    case GST_EVENT_SEGMENT: {
      const GstSegment* segment = nullptr;
      gst_event_parse_segment(event, &segment);
      GST_OBJECT_LOCK(self);
      gst_segment_copy_into(segment, &state->segment);
      GST_OBJECT_UNLOCK(self);
      return queue_event(self, event);
    }
    case GST_EVENT_GAP: {
      // A gap is silence: separating it keeps the output timeline continuous.
      GstClockTime timestamp = GST_CLOCK_TIME_NONE;
      GstClockTime duration = GST_CLOCK_TIME_NONE;
      gst_event_parse_gap(event, &timestamp, &duration);
      gst_event_unref(event);
      if (!GST_CLOCK_TIME_IS_VALID(duration)) {
        return TRUE;
      }
      if (place_on_timeline(self, timestamp, false) != demucs::SeparationWorker::PushResult::accepted) {
        return FALSE;
      }
      const auto frames = static_cast<std::int64_t>(
          gst_util_uint64_scale_round(duration, static_cast<guint64>(state->model->samplerate()), GST_SECOND));
      state->timeline->advance(frames);
      return state->worker->push_silence(frames) == demucs::SeparationWorker::PushResult::accepted;
    }
    case GST_EVENT_EOS:
      // EOS goes out once everything is drained, after the last progress message.
      return state->worker->push_end(std::make_unique<QueuedEvent>(event)) ==
             demucs::SeparationWorker::PushResult::accepted;
    default:
      if (GST_EVENT_IS_SERIALIZED(event)) {
        return queue_event(self, event);
      }
      return gst_pad_event_default(pad, parent, event);
  }
}

// Caps a pad can take or give now: at the model's rate once it is loaded.
GstCaps* pad_caps(GstDemucsSeparator* self, GstPad* pad, GstCaps* filter) {
  GstCaps* caps = gst_pad_get_pad_template_caps(pad);
  GST_OBJECT_LOCK(self);
  const int rate = state_of(self)->model ? state_of(self)->model->samplerate() : 0;
  GST_OBJECT_UNLOCK(self);
  if (rate > 0) {
    GstCaps* at_model_rate = gst_caps_copy(caps);
    gst_caps_set_simple(at_model_rate, "rate", G_TYPE_INT, rate, nullptr);
    if (pad == sinkpad_of(self) && filter != nullptr && !gst_caps_can_intersect(filter, at_model_rate)) {
      // Upstream cannot give the model's rate (no audioresample in front):
      // let its rate through to the CAPS event, which fails with a message
      // that names the fix, rather than a bare "not-negotiated" upstream.
      gst_caps_unref(at_model_rate);
    } else {
      gst_caps_unref(caps);
      caps = at_model_rate;
    }
  }
  if (filter != nullptr) {
    GstCaps* filtered = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(caps);
    caps = filtered;
  }
  return caps;
}

gboolean answer_caps_query(GstDemucsSeparator* self, GstPad* pad, GstQuery* query) {
  GstCaps* filter = nullptr;
  gst_query_parse_caps(query, &filter);
  GstCaps* caps = pad_caps(self, pad, filter);
  gst_query_set_caps_result(query, caps);
  gst_caps_unref(caps);
  return TRUE;
}

gboolean sink_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  auto* self = GST_DEMUCS_SEPARATOR(parent);
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_CAPS:
      return answer_caps_query(self, pad, query);
    case GST_QUERY_ALLOCATION:
      // Input is copied into the queue: no requirement, and the output
      // format differs, so nothing to forward.
      return FALSE;
    default:
      return gst_pad_query_default(pad, parent, query);
  }
}

// Upstream's latency plus ours: the frames that must follow a frame before it
// is final, and in a live pipeline the time to compute them: a separation that
// keeps up with real time runs a batch of chunks in less than the batch's
// strides. The maximum grows by the queue, which may hold that much more.
gboolean answer_latency_query(GstDemucsSeparator* self, GstQuery* query) {
  DemucsSeparatorState* state = state_of(self);
  if (!gst_pad_peer_query(sinkpad_of(self), query)) {
    return FALSE;
  }
  gboolean live = FALSE;
  GstClockTime min = 0;
  GstClockTime max = GST_CLOCK_TIME_NONE;
  gst_query_parse_latency(query, &live, &min, &max);
  GST_OBJECT_LOCK(self);  // the worker is replaced under it
  if (state->worker) {
    const int rate = state->worker->samplerate();
    GstClockTime ours = frames_to_time(state->worker->latency_frames(), rate);
    if (live) {
      const auto stride = static_cast<std::int64_t>((1.0 - state->settings.overlap) *
                                                    static_cast<double>(state->worker->capacity_frames()));
      ours += frames_to_time(stride * state->settings.batch_size, rate);
    }
    min += ours;
    if (GST_CLOCK_TIME_IS_VALID(max)) {
      max += ours + frames_to_time(state->worker->capacity_frames(), rate);
    }
    GST_DEBUG_OBJECT(self, "latency: ours %" GST_TIME_FORMAT ", total min %" GST_TIME_FORMAT, GST_TIME_ARGS(ours),
                     GST_TIME_ARGS(min));
  }
  GST_OBJECT_UNLOCK(self);
  gst_query_set_latency(query, live, min, max);
  return TRUE;
}

gboolean answer_position_query(GstDemucsSeparator* self, GstPad* pad, GstQuery* query) {
  DemucsSeparatorState* state = state_of(self);
  GstFormat format = GST_FORMAT_UNDEFINED;
  gst_query_parse_position(query, &format, nullptr);
  const GstClockTime first = state->output_start.load();
  guint64 stream_time = GST_CLOCK_TIME_NONE;
  GST_OBJECT_LOCK(self);
  if (format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID(first) && state->worker) {
    // The output position, a latency behind upstream's.
    const GstClockTime position = first + frames_to_time(state->worker->frames_output(), state->worker->samplerate());
    stream_time = gst_segment_to_stream_time(&state->segment, GST_FORMAT_TIME, position);
  }
  GST_OBJECT_UNLOCK(self);
  if (stream_time == GST_CLOCK_TIME_NONE) {
    return gst_pad_query_default(pad, GST_OBJECT(self), query);
  }
  gst_query_set_position(query, GST_FORMAT_TIME, static_cast<gint64>(stream_time));
  return TRUE;
}

gboolean src_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  auto* self = GST_DEMUCS_SEPARATOR(parent);
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_CAPS:
      return answer_caps_query(self, pad, query);
    case GST_QUERY_LATENCY:
      return answer_latency_query(self, query);
    case GST_QUERY_POSITION:
      return answer_position_query(self, pad, query);
    default:
      return gst_pad_query_default(pad, parent, query);
  }
}

// The task runs while the sink pad is active: started when it activates
// (READY -> PAUSED, the worker exists), stopped before it deactivates.
gboolean sink_activate_mode(GstPad*, GstObject* parent, GstPadMode mode, gboolean active) {
  auto* self = GST_DEMUCS_SEPARATOR(parent);
  DemucsSeparatorState* state = state_of(self);
  if (mode != GST_PAD_MODE_PUSH || !state->worker) {
    return FALSE;  // the worker exists from READY -> PAUSED to PAUSED -> READY
  }
  if (active) {
    state->src_flow = GST_FLOW_OK;
    state->worker->set_flushing(false);
    start_task(self);
    return TRUE;
  }
  // Wake the task and a chain blocked on a full queue; wait for the task's
  // iteration to end before stopping it (an iteration that ends in
  // gst_task_pause() would otherwise turn the stop back into a pause), join.
  state->worker->set_flushing(true);
  g_rec_mutex_lock(&state->task_lock);
  gst_task_stop(state->task);
  g_rec_mutex_unlock(&state->task_lock);
  return gst_task_join(state->task);
}

// --- GObject / GstElement ------------------------------------------------------------

GstStateChangeReturn change_state(GstElement* element, GstStateChange transition) {
  auto* self = GST_DEMUCS_SEPARATOR(element);
  DemucsSeparatorState* state = state_of(self);
  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:
      if (!load_model(self)) {
        return GST_STATE_CHANGE_FAILURE;
      }
      break;
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      if (!create_worker(self)) {
        return GST_STATE_CHANGE_FAILURE;
      }
      reset_stream_state(self);
      state->last_percent = 0.0;
      state->forward_passes = 0;
      break;
    default:
      break;
  }
  const GstStateChangeReturn result =
      GST_ELEMENT_CLASS(gst_demucs_separator_parent_class)->change_state(element, transition);
  if (result == GST_STATE_CHANGE_FAILURE) {
    return result;
  }
  switch (transition) {
    case GST_STATE_CHANGE_PAUSED_TO_READY: {
      // The task is stopped and the chain returned (pads deactivated).
      std::unique_ptr<demucs::SeparationWorker> worker;
      GST_OBJECT_LOCK(self);
      worker = std::move(state->worker);
      GST_OBJECT_UNLOCK(self);
      break;
    }
    case GST_STATE_CHANGE_READY_TO_NULL:
      unload_model(self);
      break;
    default:
      break;
  }
  return result;
}

// Model, device and precision are read when the model loads (NULL -> READY).
bool may_change_model(GstDemucsSeparator* self, const GParamSpec* pspec) {
  if (GST_STATE(self) != GST_STATE_NULL) {
    GST_WARNING_OBJECT(self, "property %s can only change in the NULL state; ignored", pspec->name);
    return false;
  }
  return true;
}

void set_string(std::string& target, const GValue* value, const char* fallback) {
  const char* text = g_value_get_string(value);
  target = text != nullptr ? text : fallback;
}

void set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_DEMUCS_SEPARATOR(object);
  GST_OBJECT_LOCK(self);
  Settings& settings = state_of(self)->settings;
  switch (prop_id) {
    case PROP_MODEL:
      if (may_change_model(self, pspec)) {
        set_string(settings.model, value, kDefaultModel);
      }
      break;
    case PROP_CONFIG:
      if (may_change_model(self, pspec)) {
        set_string(settings.config, value, "");
      }
      break;
    case PROP_DEVICE:
      if (may_change_model(self, pspec)) {
        set_string(settings.device, value, kDefaultDevice);
      }
      break;
    case PROP_PRECISION:
      if (may_change_model(self, pspec)) {
        set_string(settings.precision, value, kDefaultPrecision);
      }
      break;
    case PROP_SEGMENT:
      settings.segment = g_value_get_double(value);
      break;
    case PROP_OVERLAP:
      settings.overlap = g_value_get_double(value);
      settings.overlap_set = true;
      break;
    case PROP_SHIFTS:
      settings.shifts = g_value_get_uint(value);
      break;
    case PROP_SEED:
      settings.seed = g_value_get_uint64(value);
      break;
    case PROP_THREADS:
      settings.threads = g_value_get_int(value);
      break;
    case PROP_BATCH_SIZE:
      settings.batch_size = g_value_get_uint(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

void get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_DEMUCS_SEPARATOR(object);
  GST_OBJECT_LOCK(self);
  const Settings& settings = state_of(self)->settings;
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string(value, settings.model.c_str());
      break;
    case PROP_CONFIG:
      g_value_set_string(value, settings.config.c_str());
      break;
    case PROP_DEVICE:
      g_value_set_string(value, settings.device.c_str());
      break;
    case PROP_PRECISION:
      g_value_set_string(value, settings.precision.c_str());
      break;
    case PROP_SEGMENT:
      g_value_set_double(value, settings.segment);
      break;
    case PROP_OVERLAP:
      g_value_set_double(value, settings.overlap);
      break;
    case PROP_SHIFTS:
      g_value_set_uint(value, settings.shifts);
      break;
    case PROP_SEED:
      g_value_set_uint64(value, settings.seed);
      break;
    case PROP_THREADS:
      g_value_set_int(value, settings.threads);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint(value, settings.batch_size);
      break;
    case PROP_FORWARD_PASSES:
      g_value_set_uint64(value, state_of(self)->forward_passes.load());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

void finalize(GObject* object) {
  auto* self = GST_DEMUCS_SEPARATOR(object);
  Private* priv = private_of(self);
  gst_object_unref(priv->state->task);
  g_rec_mutex_clear(&priv->state->task_lock);
  delete priv->state;
  priv->state = nullptr;
  G_OBJECT_CLASS(gst_demucs_separator_parent_class)->finalize(object);
}

std::vector<std::string> every_stem(GstDemucsSeparator*) { return {}; }

void no_pads(GstDemucsSeparator*, const demucs::LoadedModel&) {}

void install_properties(GObjectClass* gobject_class) {
  constexpr auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  constexpr auto ready_flags = static_cast<GParamFlags>(flags | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model",
                          "Known model name (htdemucs, htdemucs_ft, htdemucs_6s, ...: `demucs-vocals fetch NAME` "
                          "downloads it into the model cache), path of a Demucs .th checkpoint, or path of a "
                          "BS-RoFormer / Mel-Band RoFormer .ckpt checkpoint (see config). Loaded when the "
                          "element goes to READY; changes only in the NULL state",
                          kDefaultModel, flags));
  g_object_class_install_property(
      gobject_class, PROP_CONFIG,
      g_param_spec_string("config", "Config",
                          "YAML configuration of a RoFormer .ckpt model (Music-Source-Separation-Training "
                          "format); empty = the checkpoint's path with .yaml in place of its extension. Not used "
                          "by Demucs models. Changes only in the NULL state",
                          "", flags));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_string("device", "Device",
                          "Where the network runs: auto (CUDA when available, else CPU), cpu, cuda or cuda:N. "
                          "Changes only in the NULL state",
                          kDefaultDevice, flags));
  g_object_class_install_property(
      gobject_class, PROP_PRECISION,
      g_param_spec_string("precision", "Precision",
                          "Floating-point precision of the network: fp32 (upstream's numbers), fp16 (CUDA only) or "
                          "bf16 (CUDA, or a slow CPU path): convolutions, linear layers and attention in half "
                          "precision, STFT, normalisations and overlap-add in float32. Changes only in the NULL "
                          "state",
                          kDefaultPrecision, flags));
  g_object_class_install_property(
      gobject_class, PROP_SEGMENT,
      g_param_spec_double("segment", "Segment",
                          "Length of the segments the network runs on, in seconds; 0 = the model's own (for "
                          "Demucs the largest allowed; a RoFormer model takes any length in place of its "
                          "chunk_size)",
                          0.0, 3600.0, kDefaultSegment, ready_flags));
  g_object_class_install_property(
      gobject_class, PROP_OVERLAP,
      g_param_spec_double("overlap", "Overlap",
                          "Fraction of a segment that neighbouring segments share. A RoFormer model keeps its "
                          "configuration's num_overlap unless this is set; then it uses round(1 / (1 - overlap)) "
                          "chunks per sample (0.5 -> 2, 0.75 -> 4)",
                          0.0, 0.99,
                          kDefaultOverlap, ready_flags));
  g_object_class_install_property(
      gobject_class, PROP_SHIFTS,
      g_param_spec_uint("shifts", "Shifts",
                        "Number of random time shifts averaged (upstream's shift trick: better quality, "
                        "that many times slower); 0 = none. RoFormer models have none",
                        0, 20, kDefaultShifts, ready_flags));
  g_object_class_install_property(
      gobject_class, PROP_SEED,
      g_param_spec_uint64("seed", "Seed", "Seed of the random shifts (same shifts as upstream after random.seed)", 0,
                          G_MAXUINT64, kDefaultSeed, ready_flags));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads",
                       "CPU threads the network uses; 0 = all cores. LibTorch has one thread count per "
                       "process: the element that starts last sets it",
                       0, 1024, kDefaultThreads, ready_flags));
  g_object_class_install_property(
      gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint("batch-size", "Batch size",
                        "Segments run in one forward pass when several are ready (faster on a GPU, adds "
                        "latency)",
                        1, 64, kDefaultBatchSize, ready_flags));
  g_object_class_install_property(
      gobject_class, PROP_FORWARD_PASSES,
      g_param_spec_uint64("forward-passes", "Forward passes",
                          "Forward calls of the network since the element went to PAUSED (one per batch of "
                          "segments and model of a bag, however many stems come out); for diagnostics",
                          0, G_MAXUINT64, 0, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
}

}  // namespace

void gst_demucs_separator_set_outputs(GstDemucsSeparator* self, const std::vector<GstDemucsSeparatorOutput>& outputs) {
  DemucsSeparatorState* state = state_of(self);
  for (auto& output : state->outputs) {
    gst_flow_combiner_remove_pad(state->combiner, output.pad);
    gst_object_unref(output.pad);
  }
  state->outputs.clear();
  for (const auto& given : outputs) {
    Output output;
    output.pad = GST_PAD(gst_object_ref(given.pad));
    output.stem = given.stem;
    gst_pad_set_query_function(output.pad, GST_DEBUG_FUNCPTR(src_query));
    gst_flow_combiner_add_pad(state->combiner, output.pad);
    state->outputs.push_back(output);
  }
}

static void gst_demucs_separator_class_init(GstDemucsSeparatorClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->set_property = set_property;
  gobject_class->get_property = get_property;
  gobject_class->finalize = finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR(change_state);
  klass->stems_to_load = every_stem;
  klass->model_loaded = no_pads;
  install_properties(gobject_class);
  gst_element_class_add_static_pad_template(element_class, &sink_template);
}

static void gst_demucs_separator_init(GstDemucsSeparator* self) {
  Private* priv = private_of(self);
  priv->state = new DemucsSeparatorState();
  DemucsSeparatorState* state = priv->state;
  gst_segment_init(&state->segment, GST_FORMAT_TIME);
  g_rec_mutex_init(&state->task_lock);
  state->task = gst_task_new(task_loop, self, nullptr);
  gst_task_set_lock(state->task, &state->task_lock);

  priv->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(priv->sinkpad, GST_DEBUG_FUNCPTR(sink_chain));
  gst_pad_set_event_function(priv->sinkpad, GST_DEBUG_FUNCPTR(sink_event));
  gst_pad_set_query_function(priv->sinkpad, GST_DEBUG_FUNCPTR(sink_query));
  gst_pad_set_activatemode_function(priv->sinkpad, GST_DEBUG_FUNCPTR(sink_activate_mode));
  // Accept any rate so that a wrong one reaches the CAPS event and its message.
  GST_PAD_SET_ACCEPT_TEMPLATE(priv->sinkpad);
  gst_element_add_pad(GST_ELEMENT(self), priv->sinkpad);
}
