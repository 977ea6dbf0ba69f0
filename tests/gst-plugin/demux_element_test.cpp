// demucsdemux in this process (pads per stem, one pass, unlinked pads, EOS,
// flush, state cycle) and the timeline of both elements (discontinuities,
// holes, jumps back, a live source). The plugin comes from the build tree
// (GST_PLUGIN_PATH, set by meson).
#include "gst-plugin/gstdemucsseparator.h"
#include "element_test_support.h"
#include "support/interleaved_audio.h"
#include "support/npy_file.h"
#include "support/snr.h"
#include "support/test_data.h"

#include <ATen/ATen.h>
#include <gst/app/gstappsrc.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace demucs {
namespace {

using testing::add_recording_probe;
using testing::fixture_samples;
using testing::init_gstreamer;
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

GstElement* make_separator(const char* factory, const std::string& model = "htdemucs-tiny-4s.th") {
  GstElement* element = gst_element_factory_make(factory, nullptr);
  g_object_set(element, "model", test_data(model).c_str(), "device", "cpu", nullptr);
  return element;
}

std::vector<std::string> src_pad_names(GstElement* element) {
  std::vector<std::string> names;
  GST_OBJECT_LOCK(element);
  for (GList* l = element->srcpads; l != nullptr; l = l->next) {
    names.push_back(GST_PAD_NAME(l->data));
  }
  GST_OBJECT_UNLOCK(element);
  return names;
}

// appsrc ! demucsdemux, with a fakesink on each pad named in `linked` and a
// recording on every pad.
class DemuxPipeline {
 public:
  DemuxPipeline(const std::string& model, const std::vector<std::string>& linked) {
    pipeline_ = gst_pipeline_new(nullptr);
    appsrc_ = gst_element_factory_make("appsrc", nullptr);
    GstCaps* caps = raw_caps();
    g_object_set(appsrc_, "caps", caps, "format", GST_FORMAT_TIME, "block", TRUE, "max-bytes",
                 static_cast<guint64>(1 << 20), nullptr);
    gst_caps_unref(caps);
    demux_ = make_separator("demucsdemux", model);
    gst_bin_add_many(GST_BIN(pipeline_), appsrc_, demux_, nullptr);
    gst_element_link(appsrc_, demux_);
    // The pads exist from READY on (the model is loaded).
    EXPECT_NE(gst_element_set_state(pipeline_, GST_STATE_READY), GST_STATE_CHANGE_FAILURE);
    for (const auto& name : src_pad_names(demux_)) {
      GstPad* pad = gst_element_get_static_pad(demux_, name.c_str());
      add_recording_probe(pad, &recordings_[name], GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM);
      if (std::find(linked.begin(), linked.end(), name) != linked.end()) {
        GstElement* sink = gst_element_factory_make("fakesink", nullptr);
        g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
        gst_bin_add(GST_BIN(pipeline_), sink);
        GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
        EXPECT_EQ(gst_pad_link(pad, sinkpad), GST_PAD_LINK_OK);
        gst_object_unref(sinkpad);
        gst_element_sync_state_with_parent(sink);
      }
      gst_object_unref(pad);
    }
  }
  ~DemuxPipeline() {
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    gst_object_unref(pipeline_);
  }

  void play() { EXPECT_NE(gst_element_set_state(pipeline_, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE); }

  void push(const std::vector<float>& samples, int64_t piece = 44100) {
    const auto frames = static_cast<int64_t>(samples.size()) / 2;
    for (int64_t pos = 0; pos < frames; pos += piece) {
      const int64_t n = std::min(piece, frames - pos);
      GstBuffer* buffer = gst_buffer_new_memdup(samples.data() + pos * 2, n * 2 * sizeof(float));
      GST_BUFFER_PTS(buffer) = gst_util_uint64_scale_int(pos, GST_SECOND, kRate);
      GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale_int(n, GST_SECOND, kRate);
      ASSERT_EQ(gst_app_src_push_buffer(GST_APP_SRC(appsrc_), buffer), GST_FLOW_OK);
    }
  }

  // EOS in, then waits for EOS (or an error) on the bus. "" on EOS.
  std::string finish() {
    gst_app_src_end_of_stream(GST_APP_SRC(appsrc_));
    return wait_for_end(pipeline_);
  }

  guint64 forward_passes() {
    guint64 passes = 0;
    g_object_get(demux_, "forward-passes", &passes, nullptr);
    return passes;
  }

  GstElement* pipeline() { return pipeline_; }
  GstElement* demux() { return demux_; }
  PadRecording& recording(const std::string& pad) { return recordings_[pad]; }

 private:
  GstElement* pipeline_ = nullptr;
  GstElement* appsrc_ = nullptr;
  GstElement* demux_ = nullptr;
  std::map<std::string, PadRecording> recordings_;
};

// --- Pads ----------------------------------------------------------------------------

TEST(Demux, PadsAreNamedAfterTheModelsSourcesPlusInstrumental) {
  init_gstreamer("demucsdemux");
  struct Case {
    std::string model;
    std::vector<std::string> pads;
  };
  for (const Case& c :
       {Case{"htdemucs-tiny-4s.th", {"src_drums", "src_bass", "src_other", "src_vocals", "src_instrumental"}},
        Case{"htdemucs-tiny-6s.th",
             {"src_drums", "src_bass", "src_other", "src_vocals", "src_guitar", "src_piano", "src_instrumental"}}}) {
    GstElement* demux = GST_ELEMENT(gst_object_ref_sink(make_separator("demucsdemux", c.model)));
    EXPECT_TRUE(src_pad_names(demux).empty()) << "no pads before the model is known";
    int no_more_pads = 0;
    g_signal_connect(demux, "no-more-pads", G_CALLBACK(+[](GstElement*, gpointer count) { ++*static_cast<int*>(count); }),
                     &no_more_pads);
    ASSERT_EQ(gst_element_set_state(demux, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
    EXPECT_EQ(src_pad_names(demux), c.pads) << c.model;
    EXPECT_EQ(no_more_pads, 1);
    // A state cycle keeps the pads (and so the links) of the same model.
    gst_element_set_state(demux, GST_STATE_NULL);
    ASSERT_EQ(gst_element_set_state(demux, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
    EXPECT_EQ(src_pad_names(demux), c.pads);
    gst_element_set_state(demux, GST_STATE_NULL);
    gst_object_unref(demux);
  }
}

// Every pad's stem equals upstream's, all from one forward pass per segment.
TEST(Demux, EveryStemMatchesUpstreamWithOnePassPerSegment) {
  init_gstreamer("demucsdemux");
  DemuxPipeline all("htdemucs-tiny-4s.th",
                    {"src_drums", "src_bass", "src_other", "src_vocals", "src_instrumental"});
  all.play();
  all.push(fixture_samples());
  ASSERT_EQ(all.finish(), "");
  const at::Tensor expected = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"));
  const at::Tensor drums = planar_stereo(all.recording("src_drums").samples);
  const at::Tensor vocals = planar_stereo(all.recording("src_vocals").samples);
  ASSERT_EQ(drums.sizes(), expected[0].sizes());
  ASSERT_EQ(vocals.sizes(), expected[1].sizes());
  EXPECT_GE(snr_db(expected[0], drums), kMinSnrDb);
  EXPECT_GE(snr_db(expected[1], vocals), kMinSnrDb);
  for (const char* pad : {"src_drums", "src_bass", "src_other", "src_vocals", "src_instrumental"}) {
    EXPECT_EQ(all.recording(pad).total_frames(), kMixFrames) << pad;
    EXPECT_TRUE(all.recording(pad).saw("eos")) << pad;
  }

  // The same passes with one pad linked, and as demucsvocals for one stem:
  // 6 s with 2 s segments and overlap 0.25 (stride 1.5 s) is 4 chunks.
  DemuxPipeline one("htdemucs-tiny-4s.th", {"src_vocals"});
  one.play();
  one.push(fixture_samples());
  ASSERT_EQ(one.finish(), "");
  EXPECT_EQ(all.forward_passes(), one.forward_passes());
  EXPECT_EQ(all.forward_passes(), 4u);
  EXPECT_TRUE(at::equal(planar_stereo(one.recording("src_vocals").samples), vocals));
}

TEST(Demux, UnlinkedPadsDoNotStallTheLinkedOnesAndCostNoCopy) {
  init_gstreamer("demucsdemux");
  DemuxPipeline pipeline("htdemucs-tiny-6s.th", {"src_guitar", "src_instrumental"});
  pipeline.play();
  pipeline.push(fixture_samples());
  ASSERT_EQ(pipeline.finish(), "");
  EXPECT_EQ(pipeline.recording("src_guitar").total_frames(), kMixFrames);
  EXPECT_EQ(pipeline.recording("src_instrumental").total_frames(), kMixFrames);
  EXPECT_EQ(pipeline.recording("src_vocals").total_frames(), 0) << "an unlinked pad gets no buffers";
  EXPECT_TRUE(pipeline.recording("src_guitar").saw("eos"));
  EXPECT_TRUE(pipeline.recording("src_instrumental").saw("eos"));
  const at::Tensor expected = read_npy(test_data("tiny-6s.apply.vocals-guitar.npy"));
  EXPECT_GE(snr_db(expected[1], planar_stereo(pipeline.recording("src_guitar").samples)), kMinSnrDb);
}

TEST(Demux, NoLinkedPadIsANotLinkedError) {
  init_gstreamer("demucsdemux");
  DemuxPipeline pipeline("htdemucs-tiny-4s.th", {});
  pipeline.play();
  std::vector<float> samples = fixture_samples();
  samples.resize(2 * 44100 * 3);
  pipeline.push(samples);
  const std::string outcome = pipeline.finish();
  EXPECT_NE(outcome, "");
  EXPECT_NE(outcome, "timeout");
}

TEST(Demux, PlayingToNullMidStreamAndBackToPlayingGivesTheWholeStream) {
  init_gstreamer("demucsdemux");
  DemuxPipeline pipeline("htdemucs-tiny-4s.th", {"src_vocals", "src_drums"});
  pipeline.play();
  std::vector<float> part = fixture_samples();
  part.resize(2 * 44100 * 3);
  pipeline.push(part);
  ASSERT_NE(gst_element_set_state(pipeline.pipeline(), GST_STATE_NULL), GST_STATE_CHANGE_FAILURE);
  pipeline.recording("src_vocals").clear();
  pipeline.recording("src_drums").clear();
  pipeline.play();
  pipeline.push(fixture_samples());
  ASSERT_EQ(pipeline.finish(), "");
  const at::Tensor expected = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"));
  EXPECT_GE(snr_db(expected[1], planar_stereo(pipeline.recording("src_vocals").samples)), kMinSnrDb);
  EXPECT_GE(snr_db(expected[0], planar_stereo(pipeline.recording("src_drums").samples)), kMinSnrDb);
}

// --- One pad in a harness: flushing and the timeline, for both elements ---------------

class Harnessed {
 public:
  // demucsvocals through "src", demucsdemux through "src_vocals".
  explicit Harnessed(const char* factory) {
    element_ = GST_ELEMENT(gst_object_ref_sink(make_separator(factory)));
    const bool demux = std::string(factory) == "demucsdemux";
    EXPECT_EQ(gst_element_set_state(element_, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
    const char* src = demux ? "src_vocals" : "src";
    GstPad* pad = gst_element_get_static_pad(element_, src);
    add_recording_probe(pad, &recording_, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM);
    gst_object_unref(pad);
    harness_ = gst_harness_new_with_element(element_, "sink", src);
    GstCaps* caps = raw_caps();
    gst_harness_set_src_caps(harness_, caps);
  }
  ~Harnessed() {
    gst_harness_teardown(harness_);
    gst_element_set_state(element_, GST_STATE_NULL);
    gst_object_unref(element_);
  }

  // `frames` of the fixture from `from`, at `pts`, in pieces of 0.5 s.
  void push(int64_t from, int64_t frames, GstClockTime pts, bool discont_first = false) {
    const std::vector<float> mix = fixture_samples();
    for (int64_t pos = 0; pos < frames; pos += 22050) {
      const int64_t n = std::min<int64_t>(22050, frames - pos);
      GstBuffer* buffer = gst_buffer_new_memdup(mix.data() + (from + pos) * 2, n * 2 * sizeof(float));
      GST_BUFFER_PTS(buffer) = pts + gst_util_uint64_scale_int(pos, GST_SECOND, kRate);
      GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale_int(n, GST_SECOND, kRate);
      if (pos == 0 && discont_first) {
        GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
      }
      ASSERT_EQ(gst_harness_push(harness_, buffer), GST_FLOW_OK);
    }
  }

  void finish() { push_eos_and_wait(harness_); }

  GstHarness* harness() { return harness_; }
  PadRecording& recording() { return recording_; }

 private:
  GstElement* element_ = nullptr;
  GstHarness* harness_ = nullptr;
  PadRecording recording_;
};

class BothElements : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { init_gstreamer("demucsdemux"); }
};

// The output buffers' runs: [first pts, end) of each stretch of contiguous buffers.
std::vector<std::pair<GstClockTime, GstClockTime>> contiguous_runs(PadRecording& recording) {
  std::vector<std::pair<GstClockTime, GstClockTime>> runs;
  for (size_t i = 0; i < recording.pts.size(); ++i) {
    const GstClockTime start = recording.pts[i];
    const GstClockTime end = start + recording.durations[i];
    if (!runs.empty() && (start > runs.back().second ? start - runs.back().second : runs.back().second - start) <= 1) {
      runs.back().second = end;
    } else {
      runs.emplace_back(start, end);
    }
  }
  return runs;
}

TEST_P(BothElements, AHoleOfTwoSecondsDrainsAndTheOutputFollowsTheInputTimestamps) {
  Harnessed h(GetParam());
  h.push(0, 3 * kRate, 0);
  h.push(3 * kRate, 3 * kRate, 5 * GST_SECOND, true);  // 2 s hole
  h.finish();
  PadRecording& r = h.recording();
  EXPECT_EQ(r.total_frames(), 6 * kRate) << "nothing is made up for the hole";
  const auto runs = contiguous_runs(r);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].first, 0u);
  EXPECT_NEAR(static_cast<double>(runs[0].second), 3e9, 1e3);
  EXPECT_EQ(runs[1].first, 5 * GST_SECOND);
  EXPECT_NEAR(static_cast<double>(runs[1].second), 8e9, 1e3);
  // The first buffer of each stream is DISCONT, the others are not.
  int disconts = 0;
  for (size_t i = 0; i < r.discont.size(); ++i) {
    disconts += r.discont[i];
    if (r.discont[i]) {
      EXPECT_TRUE(r.pts[i] == 0 || r.pts[i] == 5 * GST_SECOND) << r.pts[i];
    }
  }
  EXPECT_EQ(disconts, 2);
  // Durations add up to the frames.
  GstClockTime total = 0;
  for (GstClockTime d : r.durations) total += d;
  EXPECT_NEAR(static_cast<double>(total), 6e9, 1e3);
}

TEST_P(BothElements, AJumpBackStartsANewStreamAtTheEarlierTimestamp) {
  Harnessed h(GetParam());
  h.push(0, 3 * kRate, 10 * GST_SECOND);
  h.push(3 * kRate, 3 * kRate, 2 * GST_SECOND);  // no DISCONT flag: the timestamp says it
  h.finish();
  const auto runs = contiguous_runs(h.recording());
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].first, 10 * GST_SECOND);
  EXPECT_EQ(runs[1].first, 2 * GST_SECOND);
  EXPECT_NEAR(static_cast<double>(runs[1].second), 5e9, 1e3);
  EXPECT_EQ(h.recording().total_frames(), 6 * kRate);
}

TEST_P(BothElements, ASmallHoleIsFilledWithSilenceAndTheStreamGoesOn) {
  Harnessed h(GetParam());
  h.push(0, 3 * kRate, 0);
  h.push(3 * kRate, 2 * kRate, 3 * GST_SECOND + 500 * GST_MSECOND, true);  // 0.5 s hole
  h.finish();
  const auto runs = contiguous_runs(h.recording());
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].first, 0u);
  EXPECT_NEAR(static_cast<double>(runs[0].second), 5.5e9, 1e3);
  EXPECT_EQ(h.recording().total_frames(), 5 * kRate + kRate / 2);
}

TEST_P(BothElements, JitterAndADiscontFlagAtTheExpectedTimeChangeNothing) {
  Harnessed h(GetParam());
  h.push(0, 3 * kRate, 0);
  h.push(3 * kRate, 3 * kRate, 3 * GST_SECOND + 10 * GST_MSECOND, true);  // 10 ms late: jitter
  h.finish();
  const auto runs = contiguous_runs(h.recording());
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(h.recording().total_frames(), kMixFrames);
  const at::Tensor expected = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"))[1];
  EXPECT_GE(snr_db(expected, planar_stereo(h.recording().samples)), kMinSnrDb);
}

TEST_P(BothElements, GapEventsAreSeparatedAsSilenceOnTheTimeline) {
  Harnessed h(GetParam());
  h.push(0, 2 * kRate, 0);
  ASSERT_TRUE(gst_harness_push_event(h.harness(), gst_event_new_gap(2 * GST_SECOND, GST_SECOND)));
  h.push(2 * kRate, 2 * kRate, 3 * GST_SECOND);
  h.finish();
  const auto runs = contiguous_runs(h.recording());
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_NEAR(static_cast<double>(runs[0].second), 5e9, 1e3);
  EXPECT_EQ(h.recording().total_frames(), 5 * kRate);
}

TEST_P(BothElements, FlushDropsWhatIsBufferedAndStartsAFreshStream) {
  Harnessed h(GetParam());
  h.push(0, kRate, 0);
  ASSERT_TRUE(gst_harness_push_event(h.harness(), gst_event_new_flush_start()));
  ASSERT_TRUE(gst_harness_push_event(h.harness(), gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(h.harness(), gst_event_new_segment(&segment)));
  h.push(0, kMixFrames, 0);
  h.finish();
  EXPECT_EQ(h.recording().total_frames(), kMixFrames);
  const at::Tensor expected = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"))[1];
  EXPECT_GE(snr_db(expected, planar_stereo(h.recording().samples)), kMinSnrDb);
}

INSTANTIATE_TEST_SUITE_P(Elements, BothElements, ::testing::Values("demucsvocals", "demucsdemux"));

// --- Live ------------------------------------------------------------------------------

// 10 s of a live source into a clock-synchronised sink: the reported latency
// covers the separation, so no buffer is late (a late buffer is a QoS message).
TEST_P(BothElements, LiveSourceIntoASynchronisedSinkHasNoLateBuffers) {
  const std::string factory = GetParam();
  const std::string pad = factory == "demucsdemux" ? "d.src_vocals" : "d.";
  const std::string description =
      "audiotestsrc is-live=true num-buffers=431 samplesperbuffer=1024 ! "
      "audio/x-raw,format=F32LE,rate=44100,channels=2 ! " +
      factory + " name=d device=cpu model=" + test_data("htdemucs-tiny-4s.th") + " " + pad +
      " ! fakesink name=sink sync=true qos=true max-lateness=20000000";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  ASSERT_NE(pipeline, nullptr) << (error ? error->message : "");
  ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstBus* bus = gst_element_get_bus(pipeline);
  int late = 0;
  std::string outcome = "timeout";
  for (;;) {
    GstMessage* message = gst_bus_timed_pop_filtered(
        bus, 60 * GST_SECOND,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_QOS));
    if (message == nullptr) break;
    const GstMessageType type = GST_MESSAGE_TYPE(message);
    gst_message_unref(message);
    if (type == GST_MESSAGE_QOS) {
      ++late;
      continue;
    }
    outcome = type == GST_MESSAGE_EOS ? "eos" : "error";
    break;
  }
  GstQuery* latency = gst_query_new_latency();
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  guint64 rendered = 0;
  GstStructure* stats = nullptr;
  g_object_get(sink, "stats", &stats, nullptr);
  gst_structure_get_uint64(stats, "rendered", &rendered);
  gst_structure_free(stats);
  gst_object_unref(sink);
  gboolean live = FALSE;
  GstClockTime min = 0;
  const bool answered = gst_element_query(pipeline, latency);
  gst_query_parse_latency(latency, &live, &min, nullptr);
  gst_query_unref(latency);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  EXPECT_EQ(outcome, "eos");
  EXPECT_EQ(late, 0) << "late buffers beyond the reported latency";
  EXPECT_GT(rendered, 0u);
  EXPECT_TRUE(answered && live);
  // 2 s segment - 1 frame, plus a 1.5 s stride of processing time, plus the source's own.
  EXPECT_GE(min, 3 * GST_SECOND + 400 * GST_MSECOND);
}

}  // namespace
}  // namespace demucs
