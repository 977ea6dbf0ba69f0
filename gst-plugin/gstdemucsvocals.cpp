/**
 * SECTION:element-demucsvocals
 * @title: demucsvocals
 * @short_description: separates vocals (or any stem) from music with Demucs v4
 *
 * demucsvocals runs a Demucs v4 (HTDemucs) model on the audio that flows
 * through it and outputs one stem: the vocals, the instrumental (everything
 * but the vocals), or any source of the model (drums, bass, other, and for
 * the 6-source models guitar and piano). The numbers are those of upstream
 * Demucs' `apply_model` (split into overlapping segments, triangle weights,
 * optional random shifts).
 *
 * Input is 32-bit float audio at the model's sample rate (44100 Hz for the
 * published models), mono or stereo; mono is duplicated to stereo. Output is
 * stereo at the same rate, with exactly as many samples as the input and
 * timestamps continuous from the first input timestamp. The output lags the
 * input by about one segment (a few seconds, reported in the LATENCY query);
 * at end of stream everything is drained. The network runs in a task of the
 * source pad, so upstream is never blocked for the seconds a segment takes,
 * while at most about one segment of input waits in the element.
 *
 * The model is a known name (`htdemucs`, `htdemucs_ft`, `htdemucs_6s`, ...,
 * downloaded with `demucs-vocals fetch NAME` into the model cache) or the
 * path of a Demucs `.th` checkpoint. It is loaded when the element goes from
 * NULL to READY, so a missing model, a corrupt checkpoint, a stem the model
 * does not have or an unavailable CUDA device is reported before anything
 * plays. Elements of one process that use the same model share one copy.
 *
 * Progress is posted on the bus as element messages named `demucs-progress`
 * with fields `processed` (GstClockTime, end of the output produced so far),
 * `total` (GstClockTime, upstream's duration, GST_CLOCK_TIME_NONE when
 * unknown) and `percent` (gdouble, 0 to 100, never decreasing, 100 at the end).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=song.mp3 ! decodebin ! audioconvert ! audioresample ! \
 *     demucsvocals ! audioconvert ! wavenc ! filesink location=vocals.wav
 * ]| Vocals of an MP3 with the default model (htdemucs).
 * |[
 * gst-launch-1.0 filesrc location=song.flac ! decodebin ! audioconvert ! audioresample ! \
 *     demucsvocals model=htdemucs_ft stem=instrumental device=cuda ! audioconvert ! \
 *     lamemp3enc ! filesink location=karaoke.mp3
 * ]| A karaoke track (everything but the vocals) with the fine-tuned bag, on the GPU.
 * |[
 * gst-launch-1.0 filesrc location=song.flac ! decodebin ! audioconvert ! audioresample ! \
 *     demucsvocals device=cuda precision=fp16 batch-size=8 ! audioconvert ! wavenc ! \
 *     filesink location=vocals.wav
 * ]| The vocals on the GPU in half precision, eight segments per forward pass.
 * |[
 * gst-launch-1.0 filesrc location=song.wav ! wavparse ! audioconvert ! audioresample ! \
 *     demucsvocals model=/path/to/checkpoint.th stem=drums overlap=0.5 shifts=2 ! \
 *     audioconvert ! autoaudiosink
 * ]| The drums of a WAV file with a checkpoint given by path, listened to live.
 */
#include "gst-plugin/gstdemucsvocals.h"

#include "demucs/demucs.h"
#include "gst-plugin/separation_worker.h"

#include <gst/audio/audio.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

GST_DEBUG_CATEGORY_STATIC(gst_demucs_vocals_debug);
#define GST_CAT_DEFAULT gst_demucs_vocals_debug

namespace {

constexpr const char* kDefaultModel = "htdemucs";
constexpr const char* kDefaultDevice = "auto";
constexpr const char* kDefaultPrecision = "fp32";
constexpr const char* kDefaultStem = "vocals";
constexpr double kDefaultSegment = 0.0;
constexpr double kDefaultOverlap = 0.25;
constexpr guint kDefaultShifts = 0;
constexpr guint64 kDefaultSeed = 0;
constexpr gint kDefaultThreads = 0;
constexpr guint kDefaultBatchSize = 1;

// Raw caps of the pads; the rate is the model's once it is loaded.
constexpr const char* kSinkCaps =
    "audio/x-raw, format=(string)F32LE, layout=(string)interleaved, rate=(int)[1, MAX], channels=(int)[1, 2]";
constexpr const char* kSrcCaps =
    "audio/x-raw, format=(string)F32LE, layout=(string)interleaved, rate=(int)[1, MAX], channels=(int)2";

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(kSinkCaps));
GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(kSrcCaps));

enum {
  PROP_0,
  PROP_MODEL,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_STEM,
  PROP_SEGMENT,
  PROP_OVERLAP,
  PROP_SHIFTS,
  PROP_SEED,
  PROP_THREADS,
  PROP_BATCH_SIZE,
};

struct Settings {
  std::string model = kDefaultModel;
  std::string device = kDefaultDevice;
  std::string precision = kDefaultPrecision;
  std::string stem = kDefaultStem;
  double segment = kDefaultSegment;
  double overlap = kDefaultOverlap;
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

}  // namespace

// Everything of the element that is not a pad: C++ members, constructed in
// init and destroyed in finalize.
struct DemucsVocalsState {
  Settings settings;  // under the object lock
  // From READY on.
  std::unique_ptr<demucs::LoadedModel> model;
  // From PAUSED on (created before the pads activate, destroyed after).
  std::unique_ptr<demucs::SeparationWorker> worker;

  // Stream state. Written by the streaming thread while the task cannot read
  // it, or atomic.
  int input_channels = 0;
  std::atomic<GstClockTime> first_timestamp{GST_CLOCK_TIME_NONE};
  GstSegment segment;  // the last SEGMENT received, under the object lock
  // What the last push of the task returned; the chain returns it.
  std::atomic<GstFlowReturn> src_flow{GST_FLOW_OK};
  // Task-only.
  bool discont = true;
  double last_percent = 0.0;
  std::int64_t input_at_last_progress = 0;  // frames_processed() at the last message
};

struct _GstDemucsVocals {
  GstElement parent;
  GstPad* sinkpad;
  GstPad* srcpad;
  DemucsVocalsState* state;
};

G_DEFINE_TYPE(GstDemucsVocals, gst_demucs_vocals, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(demucsvocals, "demucsvocals", GST_RANK_NONE, GST_TYPE_DEMUCS_VOCALS,
                                      GST_DEBUG_CATEGORY_INIT(gst_demucs_vocals_debug, "demucsvocals", 0,
                                                              "Demucs stem separation"));

namespace {

Settings settings_of(GstDemucsVocals* self) {
  GST_OBJECT_LOCK(self);
  Settings settings = self->state->settings;
  GST_OBJECT_UNLOCK(self);
  return settings;
}

GstClockTime frames_to_time(std::int64_t frames, int rate) {
  return gst_util_uint64_scale_int(static_cast<guint64>(frames), GST_SECOND, rate);
}

// --- Model loading (NULL -> READY) -------------------------------------------

bool load_model(GstDemucsVocals* self) {
  const Settings settings = settings_of(self);
  try {
    demucs::LoadOptions options;
    options.device = settings.device;
    options.precision = demucs::parse_precision(settings.precision);
    auto model = std::make_unique<demucs::LoadedModel>(demucs::load_model(settings.model, settings.stem, options));
    if (model->audio_channels() != demucs::StemStream::kChannels) {
      GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Model %s is not a stereo model.", settings.model.c_str()),
                        ("it has %d audio channels", model->audio_channels()));
      return false;
    }
    GST_INFO_OBJECT(self, "loaded model %s for stem %s on %s in %s: %d Hz, segment %.2f s", model->name().c_str(),
                    settings.stem.c_str(), model->device().c_str(), demucs::precision_name(model->precision()),
                    model->samplerate(), model->segment_seconds());
    g_object_set_data(G_OBJECT(self), GST_DEMUCS_VOCALS_MODEL_DATA, const_cast<void*>(model->network_identity()));
    GST_OBJECT_LOCK(self);
    self->state->model = std::move(model);
    GST_OBJECT_UNLOCK(self);
    return true;
  } catch (const demucs::DeviceUnavailableError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("Compute device '%s' with precision %s is not available: %s. Use device=cpu (or "
                       "device=auto) with precision=fp32 or bf16, or device=cuda on a machine with an NVIDIA GPU.",
                       settings.device.c_str(), settings.precision.c_str(), e.what()),
                      (nullptr));
  } catch (const demucs::ModelNotFoundError& e) {
    const bool is_path = g_str_has_suffix(settings.model.c_str(), ".th") ||
                         g_file_test(settings.model.c_str(), G_FILE_TEST_EXISTS);
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("Model '%s' not found: %s%s", settings.model.c_str(), e.what(),
                      is_path ? ". Give the path of an existing Demucs .th checkpoint, or a known model name "
                                "(`demucs-vocals models` lists them, `demucs-vocals fetch NAME` downloads one)."
                              : ""),
                      (nullptr));
  } catch (const demucs::CheckpointError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ,
                      ("Cannot read the model checkpoint of '%s' (corrupt or not a Demucs checkpoint): %s. "
                       "Download it again (`demucs-vocals fetch NAME`) or use another file.",
                       settings.model.c_str(), e.what()),
                      (nullptr));
  } catch (const std::invalid_argument& e) {
    // Unknown stem (the message lists the valid ones), device or precision name.
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid setting: %s", e.what()), (nullptr));
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("Cannot load model '%s': %s", settings.model.c_str(), e.what()),
                      (nullptr));
  }
  return false;
}

void unload_model(GstDemucsVocals* self) {
  g_object_set_data(G_OBJECT(self), GST_DEMUCS_VOCALS_MODEL_DATA, nullptr);
  std::unique_ptr<demucs::LoadedModel> model;
  GST_OBJECT_LOCK(self);
  model = std::move(self->state->model);
  GST_OBJECT_UNLOCK(self);
}

// --- Separation (READY -> PAUSED) ---------------------------------------------

bool create_worker(GstDemucsVocals* self) {
  const Settings settings = settings_of(self);
  demucs::SeparatorOptions options;
  options.segment = settings.segment;
  options.overlap = settings.overlap;
  options.shifts = static_cast<int>(settings.shifts);
  options.seed = settings.seed;
  options.threads = settings.threads;
  options.batch_size = static_cast<int>(settings.batch_size);
  try {
    auto stream = std::make_unique<demucs::StemStream>(*self->state->model, options);
    // About one segment of unprocessed input may wait for the task.
    const std::int64_t capacity = stream->segment_frames();
    auto worker = std::make_unique<demucs::SeparationWorker>(std::move(stream), capacity);
    GST_OBJECT_LOCK(self);
    self->state->worker = std::move(worker);
    GST_OBJECT_UNLOCK(self);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid separation settings: %s", e.what()), (nullptr));
    return false;
  }
  GST_INFO_OBJECT(self, "latency %" G_GINT64_FORMAT " frames, queue %" G_GINT64_FORMAT " frames",
                  static_cast<gint64>(self->state->worker->latency_frames()),
                  static_cast<gint64>(self->state->worker->capacity_frames()));
  return true;
}

void reset_stream_state(GstDemucsVocals* self) {
  DemucsVocalsState* state = self->state;
  state->input_channels = 0;
  state->first_timestamp = GST_CLOCK_TIME_NONE;
  state->src_flow = GST_FLOW_OK;
  state->discont = true;
  state->input_at_last_progress = 0;
  GST_OBJECT_LOCK(self);
  gst_segment_init(&state->segment, GST_FORMAT_TIME);
  GST_OBJECT_UNLOCK(self);
}

// --- Source pad task -----------------------------------------------------------

void post_progress(GstDemucsVocals* self, bool at_end) {
  DemucsVocalsState* state = self->state;
  state->input_at_last_progress = state->worker->frames_processed();
  const int rate = state->worker->samplerate();
  GstClockTime first = state->first_timestamp.load();
  if (!GST_CLOCK_TIME_IS_VALID(first)) {
    first = 0;
  }
  const GstClockTime processed = first + frames_to_time(state->worker->frames_output(), rate);
  gint64 duration = -1;
  GstClockTime total = GST_CLOCK_TIME_NONE;
  if (gst_pad_peer_query_duration(self->sinkpad, GST_FORMAT_TIME, &duration) && duration > 0) {
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

GstFlowReturn push_audio(GstDemucsVocals* self, demucs::SeparationWorker::Output& output) {
  DemucsVocalsState* state = self->state;
  const int rate = state->worker->samplerate();
  const auto frames = static_cast<std::int64_t>(output.samples.size()) / demucs::StemStream::kChannels;
  const gsize bytes = output.samples.size() * sizeof(float);
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, bytes, nullptr);
  gst_buffer_fill(buffer, 0, output.samples.data(), bytes);
  GstClockTime first = state->first_timestamp.load();
  if (!GST_CLOCK_TIME_IS_VALID(first)) {
    first = 0;
  }
  const GstClockTime start = first + frames_to_time(output.first_frame, rate);
  const GstClockTime end = first + frames_to_time(output.first_frame + frames, rate);
  GST_BUFFER_PTS(buffer) = start;
  GST_BUFFER_DURATION(buffer) = end - start;
  GST_BUFFER_OFFSET(buffer) = static_cast<guint64>(output.first_frame);
  GST_BUFFER_OFFSET_END(buffer) = static_cast<guint64>(output.first_frame + frames);
  if (state->discont) {
    GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
    state->discont = false;
  }
  GST_LOG_OBJECT(self, "pushing %" G_GINT64_FORMAT " frames at %" GST_TIME_FORMAT, static_cast<gint64>(frames),
                 GST_TIME_ARGS(start));
  return gst_pad_push(self->srcpad, buffer);
}

// The task cannot go on: remember why (the chain returns it), wake the chain
// and, for a fatal flow, error out as every element with a task does.
void stop_task(GstDemucsVocals* self, GstFlowReturn flow) {
  GST_DEBUG_OBJECT(self, "pausing task: %s", gst_flow_get_name(flow));
  self->state->src_flow = flow;
  self->state->worker->set_flushing(true);
  gst_pad_pause_task(self->srcpad);
  if (flow == GST_FLOW_NOT_LINKED || flow < GST_FLOW_EOS) {
    GST_ELEMENT_FLOW_ERROR(self, flow);
    gst_pad_push_event(self->srcpad, gst_event_new_eos());
  }
}

void src_loop(gpointer data) {
  auto* self = GST_DEMUCS_VOCALS(data);
  demucs::SeparationWorker& worker = *self->state->worker;
  std::vector<demucs::SeparationWorker::Output> outputs;
  try {
    if (!worker.process_next(outputs)) {
      GST_DEBUG_OBJECT(self, "flushing: pausing task");
      gst_pad_pause_task(self->srcpad);
      return;
    }
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Separation failed: %s", e.what()), (nullptr));
    self->state->src_flow = GST_FLOW_ERROR;
    worker.set_flushing(true);
    gst_pad_pause_task(self->srcpad);
    gst_pad_push_event(self->srcpad, gst_event_new_eos());
    return;
  }
  bool ended = false;
  bool produced = false;
  for (auto& output : outputs) {
    switch (output.kind) {
      case demucs::SeparationWorker::Output::Kind::audio: {
        const GstFlowReturn flow = push_audio(self, output);
        if (flow != GST_FLOW_OK) {
          stop_task(self, flow);
          return;
        }
        produced = true;
        break;
      }
      case demucs::SeparationWorker::Output::Kind::marker: {
        GstEvent* event = static_cast<QueuedEvent&>(*output.marker).release();
        GST_DEBUG_OBJECT(self, "forwarding %" GST_PTR_FORMAT, event);
        gst_pad_push_event(self->srcpad, event);
        break;
      }
      case demucs::SeparationWorker::Output::Kind::end:
        post_progress(self, true);
        ended = true;
        break;
    }
  }
  // A message per output, and at least one per segment of input (with a
  // large batch-size, output comes only every few segments).
  if (!ended && (produced || worker.frames_processed() - self->state->input_at_last_progress >=
                                 worker.capacity_frames())) {
    post_progress(self, false);
  }
  if (ended) {
    GST_DEBUG_OBJECT(self, "drained: pausing task");
    gst_pad_pause_task(self->srcpad);
  }
}

// --- Sink pad --------------------------------------------------------------------

GstFlowReturn flow_of_refused_push(GstDemucsVocals* self, demucs::SeparationWorker::PushResult result) {
  switch (result) {
    case demucs::SeparationWorker::PushResult::accepted:
      return self->state->src_flow.load();
    case demucs::SeparationWorker::PushResult::ended:
      return GST_FLOW_EOS;
    case demucs::SeparationWorker::PushResult::flushing: {
      const GstFlowReturn flow = self->state->src_flow.load();
      return flow != GST_FLOW_OK ? flow : GST_FLOW_FLUSHING;
    }
  }
  return GST_FLOW_ERROR;
}

void note_first_timestamp(GstDemucsVocals* self, GstClockTime timestamp) {
  DemucsVocalsState* state = self->state;
  if (GST_CLOCK_TIME_IS_VALID(state->first_timestamp.load())) {
    return;
  }
  if (!GST_CLOCK_TIME_IS_VALID(timestamp)) {
    GST_OBJECT_LOCK(self);
    timestamp = state->segment.format == GST_FORMAT_TIME ? state->segment.start : 0;
    GST_OBJECT_UNLOCK(self);
  }
  GST_DEBUG_OBJECT(self, "first timestamp %" GST_TIME_FORMAT, GST_TIME_ARGS(timestamp));
  state->first_timestamp = timestamp;
}

GstFlowReturn sink_chain(GstPad*, GstObject* parent, GstBuffer* buffer) {
  auto* self = GST_DEMUCS_VOCALS(parent);
  DemucsVocalsState* state = self->state;
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
  note_first_timestamp(self, GST_BUFFER_PTS(buffer));
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
  return flow_of_refused_push(self, result);
}

bool set_input_caps(GstDemucsVocals* self, GstCaps* caps) {
  GstAudioInfo info;
  if (!gst_audio_info_from_caps(&info, caps)) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Cannot read the input audio format."),
                      ("caps %" GST_PTR_FORMAT, caps));
    return false;
  }
  const int model_rate = self->state->model->samplerate();
  if (GST_AUDIO_INFO_RATE(&info) != model_rate) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("Input audio is %d Hz but the model %s works at %d Hz: put audioresample in front of "
                       "demucsvocals (for example: ... ! audioconvert ! audioresample ! demucsvocals).",
                       GST_AUDIO_INFO_RATE(&info), self->state->model->name().c_str(), model_rate),
                      ("caps %" GST_PTR_FORMAT, caps));
    return false;
  }
  self->state->input_channels = GST_AUDIO_INFO_CHANNELS(&info);
  GST_DEBUG_OBJECT(self, "input: %d Hz, %d channels", model_rate, self->state->input_channels);
  return true;
}

GstCaps* output_caps(int rate) {
  return gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "layout", G_TYPE_STRING, "interleaved",
                             "rate", G_TYPE_INT, rate, "channels", G_TYPE_INT, demucs::StemStream::kChannels,
                             "channel-mask", GST_TYPE_BITMASK, static_cast<guint64>(0x3), nullptr);
}

gboolean queue_event(GstDemucsVocals* self, GstEvent* event) {
  const auto result = self->state->worker->push_marker(std::make_unique<QueuedEvent>(event));
  if (result != demucs::SeparationWorker::PushResult::accepted) {
    GST_DEBUG_OBJECT(self, "event refused: %s", result == demucs::SeparationWorker::PushResult::ended
                                                    ? "after end of stream"
                                                    : "flushing");
    return FALSE;
  }
  return TRUE;
}

gboolean sink_event(GstPad* pad, GstObject* parent, GstEvent* event) {
  auto* self = GST_DEMUCS_VOCALS(parent);
  DemucsVocalsState* state = self->state;
  GST_LOG_OBJECT(self, "sink event %" GST_PTR_FORMAT, event);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_FLUSH_START: {
      // Not serialized: the chain may be blocked on a full queue and the task
      // inside a push. Wake both, forward, and wait for the task to pause.
      state->worker->set_flushing(true);
      const gboolean forwarded = gst_pad_push_event(self->srcpad, event);
      gst_pad_pause_task(self->srcpad);
      return forwarded;
    }
    case GST_EVENT_FLUSH_STOP: {
      // The chain has returned and the task is paused: start a fresh stream.
      const gboolean forwarded = gst_pad_push_event(self->srcpad, event);
      state->worker->reset();
      const int channels = state->input_channels;
      reset_stream_state(self);
      state->input_channels = channels;  // caps stay, as sticky events do
      state->worker->set_flushing(false);
      gst_pad_start_task(self->srcpad, src_loop, self, nullptr);
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
      note_first_timestamp(self, timestamp);
      const auto frames = static_cast<std::int64_t>(
          gst_util_uint64_scale_round(duration, static_cast<guint64>(state->model->samplerate()), GST_SECOND));
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
GstCaps* pad_caps(GstDemucsVocals* self, GstPad* pad, GstCaps* filter) {
  GstCaps* caps = gst_pad_get_pad_template_caps(pad);
  GST_OBJECT_LOCK(self);
  const int rate = self->state->model ? self->state->model->samplerate() : 0;
  GST_OBJECT_UNLOCK(self);
  if (rate > 0) {
    GstCaps* at_model_rate = gst_caps_copy(caps);
    gst_caps_set_simple(at_model_rate, "rate", G_TYPE_INT, rate, nullptr);
    if (pad == self->sinkpad && filter != nullptr && !gst_caps_can_intersect(filter, at_model_rate)) {
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

gboolean sink_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  auto* self = GST_DEMUCS_VOCALS(parent);
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_CAPS: {
      GstCaps* filter = nullptr;
      gst_query_parse_caps(query, &filter);
      GstCaps* caps = pad_caps(self, pad, filter);
      gst_query_set_caps_result(query, caps);
      gst_caps_unref(caps);
      return TRUE;
    }
    case GST_QUERY_ALLOCATION:
      // Input is copied into the queue: no requirement, and the output
      // format differs, so nothing to forward.
      return FALSE;
    default:
      return gst_pad_query_default(pad, parent, query);
  }
}

gboolean src_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  auto* self = GST_DEMUCS_VOCALS(parent);
  DemucsVocalsState* state = self->state;
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_CAPS: {
      GstCaps* filter = nullptr;
      gst_query_parse_caps(query, &filter);
      GstCaps* caps = pad_caps(self, pad, filter);
      gst_query_set_caps_result(query, caps);
      gst_caps_unref(caps);
      return TRUE;
    }
    case GST_QUERY_LATENCY: {
      if (!gst_pad_peer_query(self->sinkpad, query)) {
        return FALSE;
      }
      gboolean live = FALSE;
      GstClockTime min = 0;
      GstClockTime max = GST_CLOCK_TIME_NONE;
      gst_query_parse_latency(query, &live, &min, &max);
      GST_OBJECT_LOCK(self);  // the worker is replaced under it
      if (state->worker) {
        const int rate = state->worker->samplerate();
        const GstClockTime ours = frames_to_time(state->worker->latency_frames(), rate);
        min += ours;
        if (GST_CLOCK_TIME_IS_VALID(max)) {
          max += ours + frames_to_time(state->worker->capacity_frames(), rate);
        }
        GST_DEBUG_OBJECT(self, "latency: ours %" GST_TIME_FORMAT ", total min %" GST_TIME_FORMAT,
                         GST_TIME_ARGS(ours), GST_TIME_ARGS(min));
      }
      GST_OBJECT_UNLOCK(self);
      gst_query_set_latency(query, live, min, max);
      return TRUE;
    }
    case GST_QUERY_POSITION: {
      GstFormat format = GST_FORMAT_UNDEFINED;
      gst_query_parse_position(query, &format, nullptr);
      const GstClockTime first = state->first_timestamp.load();
      guint64 stream_time = GST_CLOCK_TIME_NONE;
      GST_OBJECT_LOCK(self);
      if (format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID(first) && state->worker) {
        // The output position, a latency behind upstream's.
        const GstClockTime position =
            first + frames_to_time(state->worker->frames_output(), state->worker->samplerate());
        stream_time = gst_segment_to_stream_time(&state->segment, GST_FORMAT_TIME, position);
      }
      GST_OBJECT_UNLOCK(self);
      if (stream_time == GST_CLOCK_TIME_NONE) {
        return gst_pad_query_default(pad, parent, query);
      }
      gst_query_set_position(query, GST_FORMAT_TIME, static_cast<gint64>(stream_time));
      return TRUE;
    }
    default:
      return gst_pad_query_default(pad, parent, query);
  }
}

gboolean src_activate_mode(GstPad* pad, GstObject* parent, GstPadMode mode, gboolean active) {
  auto* self = GST_DEMUCS_VOCALS(parent);
  if (mode != GST_PAD_MODE_PUSH || !self->state->worker) {
    return FALSE;  // the worker exists from READY -> PAUSED to PAUSED -> READY
  }
  demucs::SeparationWorker& worker = *self->state->worker;
  if (active) {
    self->state->src_flow = GST_FLOW_OK;
    worker.set_flushing(false);
    return gst_pad_start_task(pad, src_loop, self, nullptr);
  }
  // Wake the task and a chain blocked on a full queue, then wait for the task.
  worker.set_flushing(true);
  return gst_pad_stop_task(pad);
}

// --- GObject / GstElement ------------------------------------------------------------

GstStateChangeReturn change_state(GstElement* element, GstStateChange transition) {
  auto* self = GST_DEMUCS_VOCALS(element);
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
      self->state->last_percent = 0.0;
      break;
    default:
      break;
  }
  const GstStateChangeReturn result =
      GST_ELEMENT_CLASS(gst_demucs_vocals_parent_class)->change_state(element, transition);
  if (result == GST_STATE_CHANGE_FAILURE) {
    return result;
  }
  switch (transition) {
    case GST_STATE_CHANGE_PAUSED_TO_READY: {
      // The task is stopped and the chain returned (pads deactivated).
      std::unique_ptr<demucs::SeparationWorker> worker;
      GST_OBJECT_LOCK(self);
      worker = std::move(self->state->worker);
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

// Model, device, precision and stem are read when the model loads (NULL -> READY).
bool may_change_model(GstDemucsVocals* self, const GParamSpec* pspec) {
  if (GST_STATE(self) != GST_STATE_NULL) {
    GST_WARNING_OBJECT(self, "property %s can only change in the NULL state; ignored", pspec->name);
    return false;
  }
  return true;
}

void set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_DEMUCS_VOCALS(object);
  GST_OBJECT_LOCK(self);
  Settings& settings = self->state->settings;
  switch (prop_id) {
    case PROP_MODEL:
      if (may_change_model(self, pspec)) {
        const char* model = g_value_get_string(value);
        settings.model = model != nullptr ? model : kDefaultModel;
      }
      break;
    case PROP_DEVICE:
      if (may_change_model(self, pspec)) {
        const char* device = g_value_get_string(value);
        settings.device = device != nullptr ? device : kDefaultDevice;
      }
      break;
    case PROP_PRECISION:
      if (may_change_model(self, pspec)) {
        const char* precision = g_value_get_string(value);
        settings.precision = precision != nullptr ? precision : kDefaultPrecision;
      }
      break;
    case PROP_STEM:
      if (may_change_model(self, pspec)) {
        const char* stem = g_value_get_string(value);
        settings.stem = stem != nullptr ? stem : kDefaultStem;
      }
      break;
    case PROP_SEGMENT:
      settings.segment = g_value_get_double(value);
      break;
    case PROP_OVERLAP:
      settings.overlap = g_value_get_double(value);
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
  auto* self = GST_DEMUCS_VOCALS(object);
  GST_OBJECT_LOCK(self);
  const Settings& settings = self->state->settings;
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string(value, settings.model.c_str());
      break;
    case PROP_DEVICE:
      g_value_set_string(value, settings.device.c_str());
      break;
    case PROP_PRECISION:
      g_value_set_string(value, settings.precision.c_str());
      break;
    case PROP_STEM:
      g_value_set_string(value, settings.stem.c_str());
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
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

void finalize(GObject* object) {
  auto* self = GST_DEMUCS_VOCALS(object);
  delete self->state;
  self->state = nullptr;
  G_OBJECT_CLASS(gst_demucs_vocals_parent_class)->finalize(object);
}

}  // namespace

static void gst_demucs_vocals_class_init(GstDemucsVocalsClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->set_property = set_property;
  gobject_class->get_property = get_property;
  gobject_class->finalize = finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR(change_state);

  constexpr auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  constexpr auto ready_flags = static_cast<GParamFlags>(flags | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model",
                          "Known model name (htdemucs, htdemucs_ft, htdemucs_6s, ...: `demucs-vocals fetch NAME` "
                          "downloads it into the model cache) or path of a Demucs .th checkpoint. Loaded when the "
                          "element goes to READY; changes only in the NULL state",
                          kDefaultModel, flags));
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
      gobject_class, PROP_STEM,
      g_param_spec_string("stem", "Stem",
                          "Stem to output: any source of the model (vocals, drums, bass, other; guitar and piano "
                          "for 6-source models) or instrumental (the sum of every source but the vocals). Changes "
                          "only in the NULL state",
                          kDefaultStem, flags));
  g_object_class_install_property(
      gobject_class, PROP_SEGMENT,
      g_param_spec_double("segment", "Segment",
                          "Length of the segments the network runs on, in seconds; 0 = the model's own (the "
                          "largest allowed)",
                          0.0, 3600.0, kDefaultSegment, ready_flags));
  g_object_class_install_property(
      gobject_class, PROP_OVERLAP,
      g_param_spec_double("overlap", "Overlap", "Fraction of a segment that neighbouring segments share", 0.0, 0.99,
                          kDefaultOverlap, ready_flags));
  g_object_class_install_property(
      gobject_class, PROP_SHIFTS,
      g_param_spec_uint("shifts", "Shifts",
                        "Number of random time shifts averaged (upstream's shift trick: better quality, "
                        "that many times slower); 0 = none",
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
                       0, 1024,
                       kDefaultThreads, ready_flags));
  g_object_class_install_property(
      gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint("batch-size", "Batch size",
                        "Segments run in one forward pass when several are ready (faster on a GPU, adds "
                        "latency)",
                        1, 64, kDefaultBatchSize, ready_flags));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Demucs stem separator", "Filter/Effect/Audio",
      "Separates vocals, instrumental or any stem from music with a Demucs v4 (HTDemucs) model",
      "demucs-vocals contributors");
}

static void gst_demucs_vocals_init(GstDemucsVocals* self) {
  self->state = new DemucsVocalsState();
  gst_segment_init(&self->state->segment, GST_FORMAT_TIME);

  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, GST_DEBUG_FUNCPTR(sink_chain));
  gst_pad_set_event_function(self->sinkpad, GST_DEBUG_FUNCPTR(sink_event));
  gst_pad_set_query_function(self->sinkpad, GST_DEBUG_FUNCPTR(sink_query));
  // Accept any rate so that a wrong one reaches the CAPS event and its message.
  GST_PAD_SET_ACCEPT_TEMPLATE(self->sinkpad);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  gst_pad_set_query_function(self->srcpad, GST_DEBUG_FUNCPTR(src_query));
  gst_pad_set_activatemode_function(self->srcpad, GST_DEBUG_FUNCPTR(src_activate_mode));
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}
