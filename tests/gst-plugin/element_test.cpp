// The demucsvocals element in this process: GstHarness for the stream
// behaviour (golden output, lengths, timestamps, event order, latency,
// progress, flushing) and small pipelines for state changes, errors and model
// sharing. The plugin comes from the build tree (GST_PLUGIN_PATH, set by meson).
#include "gst-plugin/gstdemucsvocals.h"
#include "element_test_support.h"
#include "separator/separate.h"
#include "separator/stream_separator.h"
#include "loading/stem_model.h"
#include "network/compute_device.h"
#include "support/checkpoint_rewriter.h"
#include "support/interleaved_audio.h"
#include "support/npy_file.h"
#include "support/scratch_directory.h"
#include "support/snr.h"
#include "support/test_data.h"

#include <ATen/ATen.h>
#include <gst/app/gstappsink.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace demucs {
namespace {

using testing::add_recording_probe;
using testing::fixture_mix;
using testing::init_gstreamer;
using testing::interleaved;
using testing::kMinSnrDb;
using testing::kMixFrames;
using testing::kRate;
using testing::PadRecording;
using testing::planar_stereo;
using testing::push_eos_and_wait;
using testing::raw_caps;
using testing::read_npy;
using testing::snr_db;
using testing::test_data;
using testing::wait_for_end;

struct Properties {
  std::string model = "htdemucs-tiny-4s.th";
  std::string stem = "vocals";
  double overlap = 0.25;
  guint batch_size = 1;
};

GstElement* make_element(const Properties& properties) {
  auto* element = GST_ELEMENT(gst_object_ref_sink(gst_element_factory_make("demucsvocals", nullptr)));
  g_object_set(element, "model", test_data(properties.model).c_str(), "stem", properties.stem.c_str(), "device",
               "cpu", "overlap", properties.overlap, "batch-size", properties.batch_size, nullptr);
  return element;
}

// A harnessed element with a bus and a recording probe.
class HarnessedElement {
 public:
  explicit HarnessedElement(const Properties& properties, int channels = 2, GstClockTime first_pts = 0)
      : next_pts_(first_pts) {
    element_ = make_element(properties);
    bus_ = gst_bus_new();
    gst_element_set_bus(element_, bus_);
    GstPad* src = gst_element_get_static_pad(element_, "src");
    add_recording_probe(src, &recording_, GST_PAD_PROBE_TYPE_EVENT_BOTH);
    gst_object_unref(src);
    harness_ = gst_harness_new_with_element(element_, "sink", "src");
    channels_ = channels;
    GstCaps* caps = raw_caps(channels);
    gst_harness_set_src_caps(harness_, caps);
  }
  ~HarnessedElement() {
    gst_harness_teardown(harness_);
    gst_element_set_bus(element_, nullptr);
    gst_object_unref(bus_);
    gst_object_unref(element_);
  }

  // Pushes interleaved samples in pieces of `piece` frames, timestamped.
  void push(const std::vector<float>& samples, int64_t piece) {
    const auto frames = static_cast<int64_t>(samples.size()) / channels_;
    for (int64_t pos = 0; pos < frames; pos += piece) {
      const int64_t n = std::min(piece, frames - pos);
      GstBuffer* buffer = gst_buffer_new_memdup(samples.data() + pos * channels_, n * channels_ * sizeof(float));
      GST_BUFFER_PTS(buffer) = next_pts_;
      GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale_int(n, GST_SECOND, kRate);
      next_pts_ += GST_BUFFER_DURATION(buffer);
      ASSERT_EQ(gst_harness_push(harness_, buffer), GST_FLOW_OK);
    }
  }

  // EOS, then waits until it came out.
  void finish() { push_eos_and_wait(harness_); }

  at::Tensor output() {
    std::lock_guard<std::mutex> lock(recording_.mutex);
    return planar_stereo(recording_.samples);
  }

  std::vector<GstStructure*> progress_messages() {
    std::vector<GstStructure*> messages;
    while (GstMessage* message = gst_bus_pop_filtered(bus_, GST_MESSAGE_ELEMENT)) {
      const GstStructure* s = gst_message_get_structure(message);
      if (gst_structure_has_name(s, GST_DEMUCS_VOCALS_PROGRESS_MESSAGE)) {
        messages.push_back(gst_structure_copy(s));
      }
      gst_message_unref(message);
    }
    return messages;
  }

  GstHarness* harness() { return harness_; }
  GstElement* element() { return element_; }
  PadRecording& recording() { return recording_; }
  void set_next_pts(GstClockTime pts) { next_pts_ = pts; }

 private:
  GstElement* element_ = nullptr;
  GstBus* bus_ = nullptr;
  GstHarness* harness_ = nullptr;
  PadRecording recording_;
  int channels_ = 2;
  GstClockTime next_pts_ = 0;
};

// --- Golden output -------------------------------------------------------------

struct GoldenCase {
  std::string name;
  Properties properties;
  std::string reference;
  int64_t index;  // stem in the reference
};

class ElementGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(ElementGolden, OutputMatchesUpstream) {
  init_gstreamer("demucsvocals");
  const GoldenCase& c = GetParam();
  HarnessedElement element(c.properties);
  element.push(interleaved(fixture_mix()), 4096);
  element.finish();
  const at::Tensor expected = read_npy(test_data(c.reference))[c.index];
  const at::Tensor out = element.output();
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, out), kMinSnrDb);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, ElementGolden,
    ::testing::Values(
        GoldenCase{"vocals", {"htdemucs-tiny-4s.th", "vocals", 0.25}, "tiny-4s.apply.drums-vocals.npy", 1},
        GoldenCase{"drums", {"htdemucs-tiny-4s.th", "drums", 0.25}, "tiny-4s.apply.drums-vocals.npy", 0},
        GoldenCase{"overlap50", {"htdemucs-tiny-4s.th", "vocals", 0.5}, "tiny-4s.apply-overlap50.vocals.npy", 0},
        GoldenCase{"six_sources_guitar", {"htdemucs-tiny-6s.th", "guitar", 0.25}, "tiny-6s.apply.vocals-guitar.npy",
                   1}),
    [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

TEST(Element, InstrumentalIsTheSumOfTheNonVocalStems) {
  init_gstreamer("demucsvocals");
  HarnessedElement element({"htdemucs-tiny-4s.th", "instrumental", 0.25});
  const at::Tensor mix = fixture_mix();
  element.push(interleaved(mix), 10000);
  element.finish();
  const StemModel model = load_stem_model(test_data("htdemucs-tiny-4s.th"), "instrumental", at::kCPU);
  SeparatorOptions options;
  options.stems = {"drums", "bass", "other"};
  const at::Tensor expected = separate(model.bag, mix, options).sum(0);
  const at::Tensor out = element.output();
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, out), kMinSnrDb);
}

// --- Stream behaviour ------------------------------------------------------------

TEST(Element, MonoShortStreamGivesStereoOfTheSameLengthWithContinuousTimestamps) {
  init_gstreamer("demucsvocals");
  const GstClockTime first_pts = 3 * GST_SECOND;
  HarnessedElement element({}, 1, first_pts);
  const at::Tensor mono = fixture_mix()[0].narrow(0, 0, 13230).unsqueeze(0);  // 0.3 s
  element.push(interleaved(mono), 1000);
  element.finish();
  const at::Tensor out = element.output();
  ASSERT_EQ(out.sizes(), (at::IntArrayRef{2, 13230}));
  const StemModel model = load_stem_model(test_data("htdemucs-tiny-4s.th"), "vocals", at::kCPU);
  SeparatorOptions options;
  options.stems = {"vocals"};
  const at::Tensor expected = separate(model.bag, mono.expand({2, -1}).contiguous(), options)[0];
  EXPECT_GE(snr_db(expected, out), kMinSnrDb);

  PadRecording& recording = element.recording();
  ASSERT_FALSE(recording.pts.empty());
  EXPECT_EQ(recording.pts.front(), first_pts);
  EXPECT_TRUE(recording.discont.front());
  int64_t frames = 0;
  for (size_t i = 0; i < recording.pts.size(); ++i) {
    EXPECT_EQ(recording.offsets[i], static_cast<guint64>(frames));
    EXPECT_EQ(recording.pts[i], first_pts + gst_util_uint64_scale_int(frames, GST_SECOND, kRate));
    frames += recording.buffer_frames[i];
    EXPECT_EQ(recording.pts[i] + recording.durations[i],
              first_pts + gst_util_uint64_scale_int(frames, GST_SECOND, kRate));
    if (i > 0) {
      EXPECT_FALSE(recording.discont[i]);
    }
  }
  EXPECT_EQ(frames, 13230);
}

TEST(Element, EmptyStreamGivesEosAndNoAudio) {
  init_gstreamer("demucsvocals");
  HarnessedElement element({});
  element.finish();
  EXPECT_EQ(element.output().size(1), 0);
  auto messages = element.progress_messages();
  ASSERT_FALSE(messages.empty());
  double percent = 0;
  gst_structure_get_double(messages.back(), "percent", &percent);
  EXPECT_EQ(percent, 100.0);
  for (auto* s : messages) gst_structure_free(s);
}

TEST(Element, SerializedEventsStayAfterTheAudioBeforeThem) {
  init_gstreamer("demucsvocals");
  HarnessedElement element({});
  const std::vector<float> mix = interleaved(fixture_mix());
  const int64_t before_tag = 50000;
  element.push(std::vector<float>(mix.begin(), mix.begin() + before_tag * 2), 5000);
  GstTagList* tags = gst_tag_list_new(GST_TAG_TITLE, "middle", nullptr);
  ASSERT_TRUE(gst_harness_push_event(element.harness(), gst_event_new_tag(tags)));
  GstStructure* custom = gst_structure_new_empty("demucs-test-marker");
  ASSERT_TRUE(gst_harness_push_event(element.harness(), gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, custom)));
  element.push(std::vector<float>(mix.begin() + before_tag * 2, mix.end()), 5000);
  element.finish();

  PadRecording& recording = element.recording();
  std::lock_guard<std::mutex> lock(recording.mutex);
  const auto& events = recording.events;
  // stream-start, caps, segment before any audio; the tag and the custom
  // event exactly after the audio that preceded them; EOS last.
  ASSERT_GE(events.size(), 6u);
  EXPECT_EQ(events[0], "stream-start");
  EXPECT_EQ(events[1], "caps");
  EXPECT_EQ(events[2], "segment");
  EXPECT_EQ(recording.frames_before_event[2], 0);
  const auto tag = std::find(events.begin(), events.end(), "tag");
  ASSERT_NE(tag, events.end());
  const size_t tag_index = static_cast<size_t>(tag - events.begin());
  EXPECT_EQ(recording.frames_before_event[tag_index], before_tag);
  ASSERT_LT(tag_index + 1, events.size());
  EXPECT_EQ(events[tag_index + 1], "custom-downstream");
  EXPECT_EQ(recording.frames_before_event[tag_index + 1], before_tag);
  EXPECT_EQ(events.back(), "eos");
  EXPECT_EQ(recording.frames_before_event.back(), kMixFrames);
}

TEST(Element, OutputCapsAreStereoAtTheModelRate) {
  init_gstreamer("demucsvocals");
  HarnessedElement element({}, 1);
  element.push(std::vector<float>(1000, 0.0f), 1000);
  element.finish();
  GstPad* src = gst_element_get_static_pad(element.element(), "src");
  GstCaps* caps = gst_pad_get_current_caps(src);
  ASSERT_NE(caps, nullptr);
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  int rate = 0;
  int channels = 0;
  gst_structure_get_int(s, "rate", &rate);
  gst_structure_get_int(s, "channels", &channels);
  EXPECT_EQ(rate, kRate);
  EXPECT_EQ(channels, 2);
  EXPECT_STREQ(gst_structure_get_string(s, "format"), "F32LE");
  gst_caps_unref(caps);
  gst_object_unref(src);
}

// Upstream is live here (the harness answers live): the latency also covers
// the time to compute the chunks, one stride per batch (1 s at overlap 0.5).
TEST(Element, LatencyIsTheSeparatorsPlusAStrideOfProcessingPlusUpstreams) {
  init_gstreamer("demucsvocals");
  HarnessedElement element({"htdemucs-tiny-4s.th", "vocals", 0.5});
  const GstClockTime upstream = 20 * GST_MSECOND;
  gst_harness_set_upstream_latency(element.harness(), upstream);
  const StemModel model = load_stem_model(test_data("htdemucs-tiny-4s.th"), "vocals", at::kCPU);
  SeparatorOptions options;
  options.overlap = 0.5;
  options.stems = {"vocals"};
  const StreamSeparator separator(model.bag, options);
  ASSERT_GT(separator.latency_frames(), 0);
  const int64_t stride = 44100;  // int((1 - 0.5) * 2 s * 44100)
  const GstClockTime expected =
      upstream + gst_util_uint64_scale_int(separator.latency_frames() + stride, GST_SECOND, kRate);
  EXPECT_EQ(gst_harness_query_latency(element.harness()), expected);
}

TEST(Element, ProgressIsPostedPerSegmentNeverDecreasesAndEndsAt100) {
  init_gstreamer("demucsvocals");
  HarnessedElement element({});
  element.push(interleaved(fixture_mix()), 4096);
  element.finish();
  auto messages = element.progress_messages();
  // 6 s with 2 s segments: at least one message per segment, plus the end.
  ASSERT_GE(messages.size(), 4u);
  double last = 0;
  GstClockTime last_processed = 0;
  for (auto* s : messages) {
    double percent = -1;
    guint64 processed = 0;
    guint64 total = 0;
    ASSERT_TRUE(gst_structure_get_double(s, "percent", &percent));
    ASSERT_TRUE(gst_structure_get_uint64(s, "processed", &processed));
    ASSERT_TRUE(gst_structure_get_uint64(s, "total", &total));
    EXPECT_GE(percent, last);
    EXPECT_LE(percent, 100.0);
    EXPECT_GE(processed, last_processed);
    EXPECT_EQ(total, GST_CLOCK_TIME_NONE);  // the harness knows no duration
    last = percent;
    last_processed = processed;
  }
  EXPECT_EQ(last, 100.0);
  EXPECT_EQ(last_processed, gst_util_uint64_scale_int(kMixFrames, GST_SECOND, kRate));
  for (auto* s : messages) gst_structure_free(s);
}

TEST(Element, ProgressComesEverySegmentEvenWhenABatchHoldsTheOutput) {
  init_gstreamer("demucsvocals");
  // Four 2 s segments per forward pass: no output before the end of the 6 s mix.
  HarnessedElement element({"htdemucs-tiny-4s.th", "vocals", 0.25, 4});
  element.push(interleaved(fixture_mix()), 4096);
  element.finish();
  auto messages = element.progress_messages();
  ASSERT_GE(messages.size(), 3u);  // after 2 s and 4 s of input, and at the end of the 6 s
  double last = 0;
  for (auto* s : messages) {
    double percent = -1;
    ASSERT_TRUE(gst_structure_get_double(s, "percent", &percent));
    EXPECT_GE(percent, last);
    last = percent;
    gst_structure_free(s);
  }
  EXPECT_EQ(last, 100.0);
  const at::Tensor expected = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"))[1];
  const at::Tensor out = element.output();
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, out), kMinSnrDb);  // batching changes no number
}

TEST(Element, FlushDropsBufferedAudioAndStartsAFreshStream) {
  init_gstreamer("demucsvocals");
  HarnessedElement element({});
  const std::vector<float> mix = interleaved(fixture_mix());
  // 3 s of another signal, partly separated, partly buffered: all dropped.
  element.push(std::vector<float>(3 * kRate * 2, 0.25f), 4096);
  ASSERT_TRUE(gst_harness_push_event(element.harness(), gst_event_new_flush_start()));
  ASSERT_TRUE(gst_harness_push_event(element.harness(), gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  segment.start = 10 * GST_SECOND;
  segment.time = 10 * GST_SECOND;
  ASSERT_TRUE(gst_harness_push_event(element.harness(), gst_event_new_segment(&segment)));
  element.set_next_pts(10 * GST_SECOND);
  element.push(mix, 4096);
  element.finish();

  const at::Tensor expected = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"))[1];
  const at::Tensor out = element.output();  // since the flush
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, out), kMinSnrDb);
  std::lock_guard<std::mutex> lock(element.recording().mutex);
  ASSERT_FALSE(element.recording().pts.empty());
  EXPECT_EQ(element.recording().pts.front(), 10 * GST_SECOND);
  EXPECT_TRUE(element.recording().discont.front());
}

// --- Pipelines: state changes, errors, sharing -------------------------------------

struct PipelineRun {
  GstElement* pipeline = nullptr;
  ~PipelineRun() {
    if (pipeline != nullptr) {
      gst_element_set_state(pipeline, GST_STATE_NULL);
      gst_object_unref(pipeline);
    }
  }
};

std::vector<float> pull_all(GstElement* appsink) {
  std::vector<float> samples;
  while (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), 0)) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    gst_buffer_map(buffer, &map, GST_MAP_READ);
    const auto* values = reinterpret_cast<const float*>(map.data);
    samples.insert(samples.end(), values, values + map.size / sizeof(float));
    gst_buffer_unmap(buffer, &map);
    gst_sample_unref(sample);
  }
  return samples;
}

TEST(ElementPipeline, PlayingToNullMidStreamAndBackToPlayingWorks) {
  init_gstreamer("demucsvocals");
  const std::string description = "filesrc location=" + test_data("mix.wav") +
                                  " ! wavparse ! audioconvert ! demucsvocals device=cpu model=" +
                                  test_data("htdemucs-tiny-4s.th") +
                                  " ! appsink name=out sync=false max-buffers=0 wait-on-eos=false";
  PipelineRun run;
  GError* error = nullptr;
  run.pipeline = gst_parse_launch(description.c_str(), &error);
  ASSERT_EQ(error, nullptr) << error->message;
  GstElement* appsink = gst_bin_get_by_name(GST_BIN(run.pipeline), "out");
  ASSERT_NE(gst_element_set_state(run.pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  // Mid-stream: the first separated buffer is out.
  GstSample* first = gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), 60 * GST_SECOND);
  ASSERT_NE(first, nullptr);
  gst_sample_unref(first);
  ASSERT_EQ(gst_element_set_state(run.pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);

  ASSERT_NE(gst_element_set_state(run.pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  EXPECT_EQ(wait_for_end(run.pipeline), "");
  const at::Tensor out = planar_stereo(pull_all(appsink));
  gst_object_unref(appsink);
  const at::Tensor expected = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"))[1];
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, out), kMinSnrDb);
}

TEST(ElementPipeline, FlushingSeekMidStreamStartsAFreshSeparation) {
  init_gstreamer("demucsvocals");
  const std::string description = "filesrc location=" + test_data("mix.wav") +
                                  " ! wavparse ! audioconvert ! demucsvocals device=cpu model=" +
                                  test_data("htdemucs-tiny-4s.th") +
                                  " ! appsink name=out sync=false max-buffers=0 wait-on-eos=false";
  PipelineRun run;
  run.pipeline = gst_parse_launch(description.c_str(), nullptr);
  ASSERT_NE(run.pipeline, nullptr);
  GstElement* appsink = gst_bin_get_by_name(GST_BIN(run.pipeline), "out");
  ASSERT_NE(gst_element_set_state(run.pipeline, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(gst_element_get_state(run.pipeline, nullptr, nullptr, 60 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  ASSERT_NE(gst_element_set_state(run.pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstSample* first = gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), 60 * GST_SECOND);
  ASSERT_NE(first, nullptr);
  gst_sample_unref(first);
  // Back to the start: what was separated or buffered is dropped (appsink
  // drops what it queued), and the whole mix is separated again from 0.
  ASSERT_TRUE(gst_element_seek_simple(run.pipeline, GST_FORMAT_TIME,
                                      static_cast<GstSeekFlags>(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE), 0));
  EXPECT_EQ(wait_for_end(run.pipeline), "");
  const at::Tensor out = planar_stereo(pull_all(appsink));
  gst_object_unref(appsink);
  const at::Tensor expected = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"))[1];
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, out), kMinSnrDb);
}

TEST(ElementPipeline, WrongRateFailsWithAMessageAskingForAudioresample) {
  init_gstreamer("demucsvocals");
  const std::string description = "audiotestsrc num-buffers=5 ! audio/x-raw,rate=48000,channels=2 ! audioconvert ! "
                                  "demucsvocals device=cpu model=" +
                                  test_data("htdemucs-tiny-4s.th") + " ! fakesink";
  PipelineRun run;
  run.pipeline = gst_parse_launch(description.c_str(), nullptr);
  ASSERT_NE(run.pipeline, nullptr);
  gst_element_set_state(run.pipeline, GST_STATE_PLAYING);
  const std::string message = wait_for_end(run.pipeline);
  EXPECT_NE(message.find("48000 Hz"), std::string::npos) << message;
  EXPECT_NE(message.find("44100 Hz"), std::string::npos) << message;
  EXPECT_NE(message.find("audioresample"), std::string::npos) << message;
}

TEST(ElementPipeline, AudioresampleInFrontConvertsToTheModelRate) {
  init_gstreamer("demucsvocals");
  const std::string description =
      "audiotestsrc num-buffers=10 samplesperbuffer=4800 ! audio/x-raw,rate=48000,channels=2 ! audioconvert ! "
      "audioresample ! demucsvocals device=cpu model=" +
      test_data("htdemucs-tiny-4s.th") + " ! appsink name=out sync=false wait-on-eos=false";
  PipelineRun run;
  run.pipeline = gst_parse_launch(description.c_str(), nullptr);
  ASSERT_NE(run.pipeline, nullptr);
  GstElement* appsink = gst_bin_get_by_name(GST_BIN(run.pipeline), "out");
  gst_element_set_state(run.pipeline, GST_STATE_PLAYING);
  EXPECT_EQ(wait_for_end(run.pipeline), "");
  const auto samples = pull_all(appsink);
  gst_object_unref(appsink);
  // 1 s at 48 kHz is 44100 frames after resampling (give or take the filter's edge).
  EXPECT_NEAR(static_cast<double>(samples.size() / 2), 44100.0, 64.0);
}

// Sets the element to READY and returns the error it posted ("" if none).
std::string error_going_to_ready(GstElement* element) {
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(element, bus);
  const GstStateChangeReturn result = gst_element_set_state(element, GST_STATE_READY);
  std::string text;
  if (GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    GError* error = nullptr;
    gst_message_parse_error(message, &error, nullptr);
    text = error->message;
    g_error_free(error);
    gst_message_unref(message);
  }
  EXPECT_EQ(result == GST_STATE_CHANGE_FAILURE, !text.empty()) << text;
  gst_element_set_state(element, GST_STATE_NULL);
  gst_element_set_bus(element, nullptr);
  gst_object_unref(bus);
  return text;
}

GstElement* element_with(const std::string& model, const std::string& stem, const std::string& device) {
  GstElement* element = gst_element_factory_make("demucsvocals", nullptr);
  g_object_set(element, "model", model.c_str(), "stem", stem.c_str(), "device", device.c_str(), nullptr);
  return GST_ELEMENT(gst_object_ref_sink(element));
}

// error_going_to_ready for a new element with these properties (`precision`
// left at its default when null).
std::string error_going_to_ready(const std::string& model, const std::string& stem, const std::string& device,
                                 const char* precision = nullptr) {
  GstElement* element = element_with(model, stem, device);
  if (precision != nullptr) g_object_set(element, "precision", precision, nullptr);
  const std::string text = error_going_to_ready(element);
  gst_object_unref(element);
  return text;
}

TEST(ElementErrors, MissingModelFileNamesThePathAndHowToGetAModel) {
  init_gstreamer("demucsvocals");
  const std::string message = error_going_to_ready("/nonexistent/folder/model.th", "vocals", "cpu");
  EXPECT_NE(message.find("/nonexistent/folder/model.th"), std::string::npos) << message;
  EXPECT_NE(message.find("demucs-vocals fetch"), std::string::npos) << message;
}

TEST(ElementErrors, KnownModelMissingFromTheCacheSaysHowToFetchIt) {
  init_gstreamer("demucsvocals");
  const std::string message = error_going_to_ready("htdemucs", "vocals", "cpu");  // the test cache is empty
  EXPECT_NE(message.find("demucs-vocals fetch htdemucs"), std::string::npos) << message;
}

TEST(ElementErrors, CorruptCheckpointIsReported) {
  init_gstreamer("demucsvocals");
  testing::ScratchDirectory directory;
  const std::string path = directory.file("truncated.th");
  testing::write_truncated_copy(test_data("htdemucs-tiny-4s.th"), path, 5000);
  const std::string message = error_going_to_ready(path, "vocals", "cpu");
  EXPECT_NE(message.find("checkpoint"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

TEST(ElementErrors, UnknownStemListsTheValidOnes) {
  init_gstreamer("demucsvocals");
  const std::string message = error_going_to_ready(test_data("htdemucs-tiny-4s.th"), "guitar", "cpu");
  EXPECT_NE(message.find("guitar"), std::string::npos) << message;
  EXPECT_NE(message.find("drums, bass, other, vocals, instrumental"), std::string::npos) << message;
}

TEST(ElementErrors, UnavailableCudaSaysToUseTheCpu) {
  init_gstreamer("demucsvocals");
  try {
    parse_compute_device("cuda");
    GTEST_SKIP() << "CUDA is available here";
  } catch (const DeviceUnavailableError&) {
  }
  const std::string message = error_going_to_ready(test_data("htdemucs-tiny-4s.th"), "vocals", "cuda");
  EXPECT_NE(message.find("cuda"), std::string::npos) << message;
  EXPECT_NE(message.find("device=cpu"), std::string::npos) << message;
}

TEST(ElementErrors, HalfPrecisionOnTheCpuSaysWhatToUse) {
  init_gstreamer("demucsvocals");
  const std::string message = error_going_to_ready(test_data("htdemucs-tiny-4s.th"), "vocals", "cpu", "fp16");
  EXPECT_NE(message.find("fp16 needs a CUDA device"), std::string::npos) << message;
  EXPECT_NE(message.find("precision=fp32"), std::string::npos) << message;
}

TEST(ElementErrors, UnknownPrecisionListsTheValidOnes) {
  init_gstreamer("demucsvocals");
  const std::string message = error_going_to_ready(test_data("htdemucs-tiny-4s.th"), "vocals", "cpu", "fp8");
  EXPECT_NE(message.find("use fp32, fp16 or bf16"), std::string::npos) << message;
}

TEST(Element, Bfloat16OnTheCpuLoadsAndKeepsItsSetting) {
  init_gstreamer("demucsvocals");
  GstElement* element = element_with(test_data("htdemucs-tiny-4s.th"), "vocals", "cpu");
  gchar* precision = nullptr;
  g_object_get(element, "precision", &precision, nullptr);
  EXPECT_STREQ(precision, "fp32");  // the default: upstream's numbers
  g_free(precision);
  g_object_set(element, "precision", "bf16", nullptr);
  EXPECT_EQ(gst_element_set_state(element, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  g_object_get(element, "precision", &precision, nullptr);
  EXPECT_STREQ(precision, "bf16");
  g_free(precision);
  gst_element_set_state(element, GST_STATE_NULL);
  gst_object_unref(element);
}

TEST(ElementErrors, SegmentLongerThanTheModelsFailsBeforePlaying) {
  init_gstreamer("demucsvocals");
  GstElement* element = element_with(test_data("htdemucs-tiny-4s.th"), "vocals", "cpu");
  g_object_set(element, "segment", 100.0, nullptr);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(element, bus);
  EXPECT_EQ(gst_element_set_state(element, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  ASSERT_NE(message, nullptr);
  GError* error = nullptr;
  gst_message_parse_error(message, &error, nullptr);
  EXPECT_NE(std::string(error->message).find("segment"), std::string::npos) << error->message;
  g_error_free(error);
  gst_message_unref(message);
  gst_element_set_state(element, GST_STATE_NULL);
  gst_element_set_bus(element, nullptr);
  gst_object_unref(bus);
  gst_object_unref(element);
}

TEST(ElementSharing, ElementsWithTheSameModelShareOneLoadedCopy) {
  init_gstreamer("demucsvocals");
  GstElement* first = element_with(test_data("htdemucs-tiny-4s.th"), "vocals", "cpu");
  GstElement* second = element_with(test_data("htdemucs-tiny-4s.th"), "drums", "cpu");
  GstElement* other = element_with(test_data("htdemucs-tiny-6s.th"), "vocals", "cpu");
  EXPECT_EQ(g_object_get_data(G_OBJECT(first), GST_DEMUCS_VOCALS_MODEL_DATA), nullptr);  // not loaded in NULL
  ASSERT_EQ(gst_element_set_state(first, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  ASSERT_EQ(gst_element_set_state(second, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  ASSERT_EQ(gst_element_set_state(other, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  const void* first_model = g_object_get_data(G_OBJECT(first), GST_DEMUCS_VOCALS_MODEL_DATA);
  ASSERT_NE(first_model, nullptr);
  EXPECT_EQ(g_object_get_data(G_OBJECT(second), GST_DEMUCS_VOCALS_MODEL_DATA), first_model);
  EXPECT_NE(g_object_get_data(G_OBJECT(other), GST_DEMUCS_VOCALS_MODEL_DATA), first_model);
  for (GstElement* element : {first, second, other}) {
    gst_element_set_state(element, GST_STATE_NULL);
    EXPECT_EQ(g_object_get_data(G_OBJECT(element), GST_DEMUCS_VOCALS_MODEL_DATA), nullptr);
    gst_object_unref(element);
  }
}

}  // namespace
}  // namespace demucs
