// demucsvocals and demucsdemux with RoFormer checkpoints (model=X.ckpt, the
// config property or the .yaml beside it): the output against the reference
// demix of the tiny fixtures (tests/data/roformer/), demucsdemux's pads,
// the overlap mapping, and the errors. The plugin comes from the build tree
// (GST_PLUGIN_PATH, set by meson).
#include "element_test_support.h"
#include "support/interleaved_audio.h"
#include "support/npy_file.h"
#include "support/scratch_directory.h"
#include "support/snr.h"
#include "support/test_data.h"

#include <ATen/ATen.h>
#include <gst/app/gstappsrc.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace demucs {
namespace {

using testing::add_recording_probe;
using testing::fixture_mix;
using testing::fixture_samples;
using testing::init_gstreamer;
using testing::kMinSnrDb;
using testing::kMixFrames;
using testing::PadRecording;
using testing::planar_stereo;
using testing::push_eos_and_wait;
using testing::raw_caps;
using testing::read_npy;
using testing::snr_db;
using testing::test_data;
using testing::wait_for_end;

std::string checkpoint_of(const std::string& model) { return test_data("roformer/" + model + ".ckpt"); }
at::Tensor reference_vocals(const std::string& model) {
  return read_npy(test_data("roformer/" + model + ".demix.npy"));
}

GstElement* roformer_element(const char* factory, const std::string& checkpoint) {
  GstElement* element = gst_element_factory_make(factory, nullptr);
  g_object_set(element, "model", checkpoint.c_str(), "device", "cpu", nullptr);
  return GST_ELEMENT(gst_object_ref_sink(element));
}

// The stem `element` (demucsvocals, properties set) gives for the fixture mix,
// pushed in pieces through a GstHarness.
at::Tensor vocals_through_element(GstElement* element) {
  PadRecording recording;
  GstPad* src = gst_element_get_static_pad(element, "src");
  add_recording_probe(src, &recording, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM);
  gst_object_unref(src);
  GstHarness* harness = gst_harness_new_with_element(element, "sink", "src");
  GstCaps* caps = raw_caps();
  gst_harness_set_src_caps(harness, caps);
  const std::vector<float> samples = fixture_samples();
  const auto frames = static_cast<int64_t>(samples.size() / 2);
  for (int64_t pos = 0; pos < frames; pos += 4096) {
    const int64_t n = std::min<int64_t>(4096, frames - pos);
    GstBuffer* buffer = gst_buffer_new_memdup(samples.data() + 2 * pos, n * 2 * sizeof(float));
    GST_BUFFER_PTS(buffer) = gst_util_uint64_scale_int(pos, GST_SECOND, testing::kRate);
    GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale_int(n, GST_SECOND, testing::kRate);
    EXPECT_EQ(gst_harness_push(harness, buffer), GST_FLOW_OK);
  }
  push_eos_and_wait(harness);
  gst_harness_teardown(harness);
  std::lock_guard<std::mutex> lock(recording.mutex);
  return planar_stereo(recording.samples);
}

class RoformerElement : public ::testing::TestWithParam<std::string> {};

// model=X.ckpt alone: the config is X.yaml beside it.
TEST_P(RoformerElement, VocalsEqualTheReferenceDemixWithTheConfigBesideTheCheckpoint) {
  init_gstreamer("demucsvocals");
  GstElement* element = roformer_element("demucsvocals", checkpoint_of(GetParam()));
  const at::Tensor vocals = vocals_through_element(element);
  gst_object_unref(element);
  const at::Tensor expected = reference_vocals(GetParam());
  ASSERT_EQ(vocals.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, vocals), kMinSnrDb);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RoformerElement, ::testing::Values("bs-tiny", "mel-tiny"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "bs-tiny" ? std::string("bs") : std::string("mel");
                         });

TEST(RoformerElementProperties, ConfigNamesTheYamlOfACheckpointElsewhere) {
  init_gstreamer("demucsvocals");
  testing::ScratchDirectory directory;
  const std::string checkpoint = directory.file("renamed.ckpt");
  std::filesystem::copy_file(checkpoint_of("bs-tiny"), checkpoint);
  GstElement* element = roformer_element("demucsvocals", checkpoint);
  const std::string config = test_data("roformer/bs-tiny.yaml");
  g_object_set(element, "config", config.c_str(), nullptr);
  gchar* read_back = nullptr;
  g_object_get(element, "config", &read_back, nullptr);
  EXPECT_EQ(std::string(read_back), config);
  g_free(read_back);
  const at::Tensor vocals = vocals_through_element(element);
  gst_object_unref(element);
  EXPECT_GE(snr_db(reference_vocals("bs-tiny"), vocals), kMinSnrDb);
}

// overlap, when set, becomes num_overlap = round(1 / (1 - overlap)): 0.5 is
// the YAML's 2 (the reference's numbers), 0.75 is 4 (other numbers).
TEST(RoformerElementProperties, AnExplicitOverlapBecomesNumOverlap) {
  init_gstreamer("demucsvocals");
  const at::Tensor expected = reference_vocals("bs-tiny");
  GstElement* half = roformer_element("demucsvocals", checkpoint_of("bs-tiny"));
  g_object_set(half, "overlap", 0.5, nullptr);
  EXPECT_GE(snr_db(expected, vocals_through_element(half)), kMinSnrDb);
  gst_object_unref(half);
  GstElement* three_quarters = roformer_element("demucsvocals", checkpoint_of("bs-tiny"));
  g_object_set(three_quarters, "overlap", 0.75, nullptr);
  EXPECT_LT(snr_db(expected, vocals_through_element(three_quarters)), 60.0);
  gst_object_unref(three_quarters);
}

// appsrc ! demucsdemux, a fakesink on every pad, each pad recorded.
TEST(RoformerDemux, PadsAreVocalsAndInstrumentalTheMixMinusTheVocals) {
  init_gstreamer("demucsdemux");
  GstElement* pipeline = gst_pipeline_new(nullptr);
  GstElement* appsrc = gst_element_factory_make("appsrc", nullptr);
  GstCaps* caps = raw_caps();
  g_object_set(appsrc, "caps", caps, "format", GST_FORMAT_TIME, "block", TRUE, "max-bytes",
               static_cast<guint64>(1 << 20), nullptr);
  gst_caps_unref(caps);
  GstElement* demux = gst_element_factory_make("demucsdemux", nullptr);
  g_object_set(demux, "model", checkpoint_of("mel-tiny").c_str(), "device", "cpu", nullptr);
  gst_bin_add_many(GST_BIN(pipeline), appsrc, demux, nullptr);
  ASSERT_TRUE(gst_element_link(appsrc, demux));
  ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_READY), GST_STATE_CHANGE_FAILURE);

  std::vector<std::string> pads;
  GST_OBJECT_LOCK(demux);
  for (GList* l = GST_ELEMENT(demux)->srcpads; l != nullptr; l = l->next) pads.push_back(GST_PAD_NAME(l->data));
  GST_OBJECT_UNLOCK(demux);
  ASSERT_EQ(pads, (std::vector<std::string>{"src_vocals", "src_instrumental"}));
  std::map<std::string, PadRecording> recordings;
  for (const auto& name : pads) {
    GstPad* pad = gst_element_get_static_pad(demux, name.c_str());
    add_recording_probe(pad, &recordings[name], GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM);
    GstElement* sink = gst_element_factory_make("fakesink", nullptr);
    g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
    gst_bin_add(GST_BIN(pipeline), sink);
    GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
    EXPECT_EQ(gst_pad_link(pad, sinkpad), GST_PAD_LINK_OK);
    gst_object_unref(sinkpad);
    gst_object_unref(pad);
  }
  ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  const std::vector<float> samples = fixture_samples();
  const auto frames = static_cast<int64_t>(samples.size() / 2);
  for (int64_t pos = 0; pos < frames; pos += 44100) {
    const int64_t n = std::min<int64_t>(44100, frames - pos);
    GstBuffer* buffer = gst_buffer_new_memdup(samples.data() + 2 * pos, n * 2 * sizeof(float));
    GST_BUFFER_PTS(buffer) = gst_util_uint64_scale_int(pos, GST_SECOND, testing::kRate);
    GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale_int(n, GST_SECOND, testing::kRate);
    ASSERT_EQ(gst_app_src_push_buffer(GST_APP_SRC(appsrc), buffer), GST_FLOW_OK);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(appsrc));
  EXPECT_EQ(wait_for_end(pipeline), "");
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);

  const at::Tensor vocals = reference_vocals("mel-tiny");
  ASSERT_EQ(recordings["src_vocals"].total_frames(), kMixFrames);
  ASSERT_EQ(recordings["src_instrumental"].total_frames(), kMixFrames);
  EXPECT_GE(snr_db(vocals, planar_stereo(recordings["src_vocals"].samples)), kMinSnrDb);
  EXPECT_GE(snr_db(fixture_mix() - vocals, planar_stereo(recordings["src_instrumental"].samples)), kMinSnrDb);
}

// The error posted when `element` goes to `state` ("" if none).
std::string error_going_to(GstElement* element, GstState state) {
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(element, bus);
  const GstStateChangeReturn result = gst_element_set_state(element, state);
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

TEST(RoformerElementErrors, AMissingConfigNamesTheFile) {
  init_gstreamer("demucsvocals");
  testing::ScratchDirectory directory;
  const std::string checkpoint = directory.file("lonely.ckpt");
  std::filesystem::copy_file(checkpoint_of("bs-tiny"), checkpoint);
  GstElement* element = roformer_element("demucsvocals", checkpoint);
  const std::string beside = error_going_to(element, GST_STATE_READY);
  EXPECT_NE(beside.find(directory.file("lonely.yaml")), std::string::npos) << beside;
  g_object_set(element, "config", "/nonexistent/settings.yaml", nullptr);
  const std::string given = error_going_to(element, GST_STATE_READY);
  EXPECT_NE(given.find("/nonexistent/settings.yaml"), std::string::npos) << given;
  gst_object_unref(element);
}

TEST(RoformerElementErrors, AConfigThatDoesNotFitTheCheckpointIsReported) {
  init_gstreamer("demucsvocals");
  GstElement* element = roformer_element("demucsvocals", checkpoint_of("bs-tiny"));
  g_object_set(element, "config", test_data("roformer/mel-tiny.yaml").c_str(), nullptr);
  const std::string message = error_going_to(element, GST_STATE_READY);
  EXPECT_NE(message.find(checkpoint_of("bs-tiny")), std::string::npos) << message;
  gst_object_unref(element);
}

TEST(RoformerElementErrors, ShiftsAreRefusedBeforePlaying) {
  init_gstreamer("demucsvocals");
  GstElement* element = roformer_element("demucsvocals", checkpoint_of("bs-tiny"));
  g_object_set(element, "shifts", 1u, nullptr);
  const std::string message = error_going_to(element, GST_STATE_PAUSED);
  EXPECT_NE(message.find("shifts"), std::string::npos) << message;
  gst_object_unref(element);
}

}  // namespace
}  // namespace demucs
