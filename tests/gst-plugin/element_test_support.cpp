#include "element_test_support.h"

#include "support/interleaved_audio.h"
#include "support/test_data.h"
#include "support/wav_file.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace demucs::testing {

at::Tensor fixture_mix() { return read_wav(test_data("mix.wav")).samples; }

std::vector<float> fixture_samples() { return interleaved(fixture_mix()); }

void init_gstreamer(const char* factory) {
  static const bool initialized = [] {
    gst_init(nullptr, nullptr);
    return true;
  }();
  ASSERT_TRUE(initialized);
  ASSERT_NE(gst_element_factory_find(factory), nullptr) << "plugin not found in GST_PLUGIN_PATH";
}

GstCaps* raw_caps(int channels, int rate) {
  return gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "layout", G_TYPE_STRING, "interleaved",
                             "rate", G_TYPE_INT, rate, "channels", G_TYPE_INT, channels, nullptr);
}

void PadRecording::clear() {
  samples.clear();
  pts.clear();
  durations.clear();
  offsets.clear();
  buffer_frames.clear();
  discont.clear();
  events.clear();
  frames_before_event.clear();
}

int64_t PadRecording::total_frames() {
  std::lock_guard<std::mutex> lock(mutex);
  return static_cast<int64_t>(samples.size()) / 2;
}

bool PadRecording::saw(const std::string& event) {
  std::lock_guard<std::mutex> lock(mutex);
  return std::find(events.begin(), events.end(), event) != events.end();
}

namespace {

GstPadProbeReturn record(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* recording = static_cast<PadRecording*>(data);
  std::lock_guard<std::mutex> lock(recording->mutex);
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
    GstMapInfo map;
    gst_buffer_map(buffer, &map, GST_MAP_READ);
    const auto* values = reinterpret_cast<const float*>(map.data);
    recording->samples.insert(recording->samples.end(), values, values + map.size / sizeof(float));
    recording->buffer_frames.push_back(static_cast<int64_t>(map.size / (2 * sizeof(float))));
    gst_buffer_unmap(buffer, &map);
    recording->pts.push_back(GST_BUFFER_PTS(buffer));
    recording->durations.push_back(GST_BUFFER_DURATION(buffer));
    recording->offsets.push_back(GST_BUFFER_OFFSET(buffer));
    recording->discont.push_back(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT));
  } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_BOTH) {
    // Only the event types the probe was added for get here.
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
      recording->clear();
    }
    recording->events.push_back(GST_EVENT_TYPE_NAME(event));
    recording->frames_before_event.push_back(static_cast<int64_t>(recording->samples.size() / 2));
  }
  return GST_PAD_PROBE_OK;
}

}  // namespace

void add_recording_probe(GstPad* pad, PadRecording* recording, GstPadProbeType events) {
  gst_pad_add_probe(pad, static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | events), record, recording, nullptr);
}

void push_eos_and_wait(GstHarness* harness) {
  ASSERT_TRUE(gst_harness_push_event(harness, gst_event_new_eos()));
  for (;;) {
    GstEvent* event = gst_harness_pull_event(harness);
    ASSERT_NE(event, nullptr) << "no EOS within the harness timeout";
    const bool eos = GST_EVENT_TYPE(event) == GST_EVENT_EOS;
    gst_event_unref(event);
    if (eos) break;
  }
}

std::string wait_for_end(GstElement* pipeline) {
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message = gst_bus_timed_pop_filtered(bus, 120 * GST_SECOND,
                                                   static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  gst_object_unref(bus);
  if (message == nullptr) return "timeout";
  std::string text;
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
    GError* error = nullptr;
    gst_message_parse_error(message, &error, nullptr);
    text = error->message;
    g_error_free(error);
  }
  gst_message_unref(message);
  return text;
}

}  // namespace demucs::testing
