// The pipeline runner with the real demucsvocals element (loaded from the
// build's gst-plugin/ folder) and the tiny test model: its output against
// upstream Demucs, the three output formats, progress, errors, cancel and two
// separations at once on one main loop.
#include "decoded_audio.h"

#include "demucs_plugin_location.h"
#include "separation_pipeline.h"

#include "support/npy_file.h"
#include "support/scratch_directory.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/wav_file.h"

#include <ATen/ATen.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace demucs {
namespace {

using testing::ScratchDirectory;
using testing::test_data;

constexpr int kSampleRate = 44100;
constexpr std::int64_t kMixFrames = 264600;  // mix.wav: 6 s
constexpr GstClockTime kMixDuration = 6 * GST_SECOND;
constexpr int kVocalsRow = 1;  // tiny-4s.apply.drums-vocals.npy holds [drums, vocals]
constexpr guint kTimeoutSeconds = 240;

struct ProgressReport {
  double percent;
  GstClockTime processed;
  GstClockTime total;
};

// Everything one asynchronous separation reported.
struct Outcome {
  bool done = false;
  bool ok = false;
  std::string error_message;
  std::vector<ProgressReport> progress;
};

::testing::AssertionResult contains(const std::string &text, const std::string &part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << part << "\" not found in: " << text;
}

bool file_exists(const std::string &path) { return g_file_test(path.c_str(), G_FILE_TEST_EXISTS); }

at::Tensor upstream_vocals() { return testing::read_npy(test_data("tiny-4s.apply.drums-vocals.npy"))[kVocalsRow]; }

class SeparationPipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { initialize_gstreamer_with_demucs_plugin(); }

  SeparationSettings tiny_model_settings(const std::string &output_name, OutputFormat format) const {
    SeparationSettings settings;
    settings.input_path = test_data("mix.wav");
    settings.output_path = scratch_.file(output_name);
    settings.format = format;
    settings.model = test_data("htdemucs-tiny-4s.th");
    settings.device = "cpu";
    return settings;
  }

  // Starts `pipelines` on the default main context and runs a main loop until all are done.
  static std::vector<Outcome> run_together(const std::vector<SeparationPipeline *> &pipelines) {
    std::vector<Outcome> outcomes(pipelines.size());
    GMainLoop *loop = g_main_loop_new(nullptr, FALSE);
    std::size_t remaining = pipelines.size();
    for (std::size_t i = 0; i < pipelines.size(); ++i) {
      Outcome &outcome = outcomes[i];
      pipelines[i]->start(
          [&outcome](double percent, GstClockTime processed, GstClockTime total) {
            outcome.progress.push_back({percent, processed, total});
          },
          [&outcome, &remaining, loop](bool ok, const std::string &message) {
            outcome.done = true;
            outcome.ok = ok;
            outcome.error_message = message;
            if (--remaining == 0) g_main_loop_quit(loop);
          });
    }
    const guint timeout = g_timeout_add_seconds(kTimeoutSeconds, quit_loop, loop);
    g_main_loop_run(loop);
    if (remaining == 0) g_source_remove(timeout);
    g_main_loop_unref(loop);
    return outcomes;
  }

  static Outcome run_one(const SeparationSettings &settings) {
    SeparationPipeline pipeline(settings);
    return run_together({&pipeline})[0];
  }

  static gboolean quit_loop(gpointer loop) {
    ADD_FAILURE() << "the separation did not finish within " << kTimeoutSeconds << " s";
    g_main_loop_quit(static_cast<GMainLoop *>(loop));
    return G_SOURCE_REMOVE;
  }

  // Runs `settings`, expecting a failure; checks that neither the output nor
  // the partial file is left. Returns the error message.
  static std::string expect_failure(const SeparationSettings &settings) {
    const Outcome outcome = run_one(settings);
    EXPECT_TRUE(outcome.done);
    EXPECT_FALSE(outcome.ok);
    EXPECT_FALSE(outcome.error_message.empty());
    EXPECT_FALSE(file_exists(settings.output_path));
    EXPECT_FALSE(file_exists(partial_output_path(settings.output_path)));
    return outcome.error_message;
  }

  ScratchDirectory scratch_;
};

TEST_F(SeparationPipelineTest, WavOutputIsUpstreamsVocals) {
  const SeparationSettings settings = tiny_model_settings("vocals.wav", OutputFormat::wav);
  const Outcome outcome = run_one(settings);
  ASSERT_TRUE(outcome.ok) << outcome.error_message;
  EXPECT_EQ(outcome.error_message, "");
  ASSERT_TRUE(file_exists(settings.output_path));
  EXPECT_FALSE(file_exists(partial_output_path(settings.output_path)));

  const testing::WavAudio output = testing::read_wav(settings.output_path);
  EXPECT_EQ(output.samplerate, kSampleRate);
  ASSERT_EQ(output.samples.size(0), 2);
  ASSERT_EQ(output.samples.size(1), kMixFrames);  // the input's length
  const double snr = testing::snr_db(upstream_vocals(), output.samples);
  EXPECT_GE(snr, 80.0);
}

TEST_F(SeparationPipelineTest, ProgressRisesTo100AndNeverDecreases) {
  const Outcome outcome = run_one(tiny_model_settings("vocals.wav", OutputFormat::wav));
  ASSERT_TRUE(outcome.ok) << outcome.error_message;
  // At least once per segment (2 s, stride 1.5 s: four chunks over 6 s) and at the end.
  ASSERT_GE(outcome.progress.size(), 3u);
  for (std::size_t i = 1; i < outcome.progress.size(); ++i) {
    EXPECT_GE(outcome.progress[i].percent, outcome.progress[i - 1].percent) << "report " << i;
    EXPECT_GE(outcome.progress[i].processed, outcome.progress[i - 1].processed) << "report " << i;
  }
  EXPECT_LT(outcome.progress.front().percent, 100.0);
  EXPECT_DOUBLE_EQ(outcome.progress.back().percent, 100.0);
  EXPECT_EQ(outcome.progress.back().total, kMixDuration);  // wavparse knows the duration
  EXPECT_NEAR(static_cast<double>(outcome.progress.back().processed), static_cast<double>(kMixDuration),
              static_cast<double>(GST_MSECOND));
}

TEST_F(SeparationPipelineTest, FlacOutputDecodesToTheSameAudio) {
  const SeparationSettings settings = tiny_model_settings("vocals.flac", OutputFormat::flac);
  const Outcome outcome = run_one(settings);
  ASSERT_TRUE(outcome.ok) << outcome.error_message;
  EXPECT_FALSE(file_exists(partial_output_path(settings.output_path)));
  std::ifstream file(settings.output_path, std::ios::binary);
  char magic[4] = {};
  file.read(magic, 4);
  EXPECT_EQ(std::string(magic, 4), "fLaC");

  const testing::WavAudio decoded = testing::decode_audio_file(settings.output_path);
  EXPECT_EQ(decoded.samplerate, kSampleRate);
  ASSERT_EQ(decoded.samples.size(0), 2);
  ASSERT_EQ(decoded.samples.size(1), kMixFrames);
  // Integer samples (24 bits for flacenc): only quantisation differs.
  EXPECT_GE(testing::snr_db(upstream_vocals(), decoded.samples), 70.0);
}

TEST_F(SeparationPipelineTest, Mp3OutputHasTheInputsDuration) {
  const SeparationSettings settings = tiny_model_settings("vocals.mp3", OutputFormat::mp3);
  const Outcome outcome = run_one(settings);
  ASSERT_TRUE(outcome.ok) << outcome.error_message;
  EXPECT_FALSE(file_exists(partial_output_path(settings.output_path)));

  const testing::WavAudio decoded = testing::decode_audio_file(settings.output_path);
  EXPECT_EQ(decoded.samplerate, kSampleRate);
  ASSERT_EQ(decoded.samples.size(0), 2);
  // MP3 frames of 1152 samples and the encoder's delay: within 0.1 s.
  EXPECT_NEAR(static_cast<double>(decoded.samples.size(1)) / kSampleRate, 6.0, 0.1);
  // It carries the vocals: about their loudness, not silence.
  const double reference_rms = upstream_vocals().pow(2).mean().sqrt().item<double>();
  const double decoded_rms = decoded.samples.pow(2).mean().sqrt().item<double>();
  EXPECT_NEAR(decoded_rms, reference_rms, 0.2 * reference_rms);
}

// Makes a 48 kHz mono MP3 of mix.wav at `path` (any characters in it).
void write_48khz_mono_mp3(const std::string &path, const std::string &scratch_folder) {
  const std::string plain_path = scratch_folder + "/plain.mp3";
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(("filesrc location=" + test_data("mix.wav") +
                                           " ! wavparse ! audioconvert ! audioresample ! "
                                           "audio/x-raw,rate=48000,channels=1 ! lamemp3enc ! filesink location=" +
                                           plain_path)
                                              .c_str(),
                                          &error);
  ASSERT_NE(pipeline, nullptr) << error->message;
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *end = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ASSERT_NE(end, nullptr);
  EXPECT_EQ(GST_MESSAGE_TYPE(end), GST_MESSAGE_EOS);
  gst_message_unref(end);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  ASSERT_EQ(g_rename(plain_path.c_str(), path.c_str()), 0);
}

TEST_F(SeparationPipelineTest, Mp3At48kHzMonoWithAnOddNameIsResampled) {
  SeparationSettings settings = tiny_model_settings("vocals \"of\" it's!.wav", OutputFormat::wav);
  settings.input_path = scratch_.file("mono 48k ! name=x 'quoted' \"song\".mp3");
  write_48khz_mono_mp3(settings.input_path, scratch_.path());
  const Outcome outcome = run_one(settings);
  ASSERT_TRUE(outcome.ok) << outcome.error_message;
  const testing::WavAudio output = testing::read_wav(settings.output_path);
  EXPECT_EQ(output.samplerate, kSampleRate);
  ASSERT_EQ(output.samples.size(0), 2);
  // 6 s and the MP3 decoder's delay and padding.
  EXPECT_NEAR(static_cast<double>(output.samples.size(1)) / kSampleRate, 6.0, 0.1);
  EXPECT_GT(output.samples.abs().max().item<float>(), 0.01f);
  EXPECT_DOUBLE_EQ(outcome.progress.back().percent, 100.0);
}

TEST_F(SeparationPipelineTest, MissingInputFileFails) {
  SeparationSettings settings = tiny_model_settings("vocals.wav", OutputFormat::wav);
  settings.input_path = scratch_.file("no-such-song.mp3");
  const std::string message = expect_failure(settings);
  EXPECT_EQ(message, "the input file " + settings.input_path + " does not exist");
}

TEST_F(SeparationPipelineTest, TextFileNamedMp3Fails) {
  SeparationSettings settings = tiny_model_settings("vocals.wav", OutputFormat::wav);
  settings.input_path = scratch_.file("notes.mp3");
  std::ofstream(settings.input_path) << "These are not the droids you are looking for.\n";
  const std::string message = expect_failure(settings);
  EXPECT_TRUE(contains(message, settings.input_path + " is not an audio file that GStreamer can read"));
}

TEST_F(SeparationPipelineTest, ModelMissingFromTheCacheSaysHowToFetchIt) {
  SeparationSettings settings = tiny_model_settings("vocals.wav", OutputFormat::wav);
  settings.model = "htdemucs";
  const gchar *cache = g_getenv("DEMUCS_VOCALS_CACHE");
  const std::string original_cache = cache != nullptr ? cache : "";
  g_setenv("DEMUCS_VOCALS_CACHE", scratch_.file("empty-cache").c_str(), TRUE);
  const std::string message = expect_failure(settings);
  g_setenv("DEMUCS_VOCALS_CACHE", original_cache.c_str(), TRUE);
  EXPECT_TRUE(contains(message, "htdemucs"));
  EXPECT_TRUE(contains(message, "demucs-vocals fetch htdemucs"));
}

TEST_F(SeparationPipelineTest, MissingModelFileFails) {
  SeparationSettings settings = tiny_model_settings("vocals.wav", OutputFormat::wav);
  settings.model = scratch_.file("no-such-model.th");
  const std::string message = expect_failure(settings);
  EXPECT_TRUE(contains(message, "no-such-model.th"));
  EXPECT_TRUE(contains(message, "not found"));
}

TEST_F(SeparationPipelineTest, UnknownStemFails) {
  SeparationSettings settings = tiny_model_settings("vocals.wav", OutputFormat::wav);
  settings.stem = "kazoo";
  const std::string message = expect_failure(settings);
  EXPECT_TRUE(contains(message, "kazoo"));
  EXPECT_TRUE(contains(message, "vocals"));  // the message lists the valid stems
}

TEST_F(SeparationPipelineTest, InvalidPropertyValueFails) {
  SeparationSettings settings = tiny_model_settings("vocals.wav", OutputFormat::wav);
  settings.overlap = 1.5;
  const std::string message = expect_failure(settings);
  EXPECT_EQ(message, "overlap 1.5 is out of range");
}

TEST_F(SeparationPipelineTest, MissingOutputFolderFails) {
  SeparationSettings settings = tiny_model_settings("vocals.wav", OutputFormat::wav);
  settings.output_path = scratch_.file("no-such-folder/vocals.wav");
  const std::string message = expect_failure(settings);
  EXPECT_EQ(message, "the output folder " + scratch_.file("no-such-folder") + " does not exist");
}

TEST_F(SeparationPipelineTest, CancelMidRunLeavesNothing) {
  const SeparationSettings settings = tiny_model_settings("vocals.wav", OutputFormat::wav);
  SeparationPipeline pipeline(settings);
  GMainLoop *loop = g_main_loop_new(nullptr, FALSE);
  bool done_called = false;
  double percent_at_cancel = -1;
  bool partial_existed = false;
  int reports_after_cancel = 0;
  pipeline.start(
      [&](double percent, GstClockTime, GstClockTime) {
        if (percent_at_cancel >= 0) {
          ++reports_after_cancel;
          return;
        }
        percent_at_cancel = percent;
        partial_existed = file_exists(partial_output_path(settings.output_path));
        pipeline.cancel();  // from inside a callback, as a daemon's job may do
        g_main_loop_quit(loop);
      },
      [&](bool, const std::string &) {
        done_called = true;
        g_main_loop_quit(loop);
      });
  EXPECT_TRUE(pipeline.running());
  const guint timeout = g_timeout_add_seconds(kTimeoutSeconds, quit_loop, loop);
  g_main_loop_run(loop);
  g_source_remove(timeout);
  // Anything still queued would come now.
  for (int i = 0; i < 20; ++i) g_main_context_iteration(nullptr, FALSE);
  g_main_loop_unref(loop);

  EXPECT_FALSE(pipeline.running());
  EXPECT_GE(percent_at_cancel, 0.0);
  EXPECT_LT(percent_at_cancel, 100.0);
  EXPECT_TRUE(partial_existed);
  EXPECT_FALSE(done_called);
  EXPECT_EQ(reports_after_cancel, 0);
  EXPECT_FALSE(file_exists(settings.output_path));
  EXPECT_FALSE(file_exists(partial_output_path(settings.output_path)));
}

TEST_F(SeparationPipelineTest, CancelBeforeTheLoopRunsLeavesNothing) {
  const SeparationSettings settings = tiny_model_settings("vocals.wav", OutputFormat::wav);
  bool called = false;
  {
    SeparationPipeline pipeline(settings);
    pipeline.start([&](double, GstClockTime, GstClockTime) { called = true; },
                   [&](bool, const std::string &) { called = true; });
    pipeline.cancel();
    EXPECT_FALSE(pipeline.running());
  }
  for (int i = 0; i < 20; ++i) g_main_context_iteration(nullptr, FALSE);
  EXPECT_FALSE(called);
  EXPECT_FALSE(file_exists(settings.output_path));
  EXPECT_FALSE(file_exists(partial_output_path(settings.output_path)));
}

TEST_F(SeparationPipelineTest, TwoSeparationsAtOnceOnOneMainLoopBothFinish) {
  SeparationSettings vocals_settings = tiny_model_settings("vocals.wav", OutputFormat::wav);
  SeparationSettings drums_settings = tiny_model_settings("drums.flac", OutputFormat::flac);
  drums_settings.stem = "drums";
  SeparationPipeline vocals(vocals_settings);
  SeparationPipeline drums(drums_settings);
  const std::vector<Outcome> outcomes = run_together({&vocals, &drums});
  ASSERT_TRUE(outcomes[0].ok) << outcomes[0].error_message;
  ASSERT_TRUE(outcomes[1].ok) << outcomes[1].error_message;
  EXPECT_DOUBLE_EQ(outcomes[0].progress.back().percent, 100.0);
  EXPECT_DOUBLE_EQ(outcomes[1].progress.back().percent, 100.0);

  const at::Tensor reference = testing::read_npy(test_data("tiny-4s.apply.drums-vocals.npy"));
  EXPECT_GE(testing::snr_db(reference[kVocalsRow], testing::read_wav(vocals_settings.output_path).samples), 80.0);
  EXPECT_GE(testing::snr_db(reference[0], testing::decode_audio_file(drums_settings.output_path).samples), 70.0);
}

TEST_F(SeparationPipelineTest, DestroyingThePipelineInsideOnDoneIsSafe) {
  const SeparationSettings settings = tiny_model_settings("vocals.wav", OutputFormat::wav);
  auto pipeline = std::make_unique<SeparationPipeline>(settings);
  GMainLoop *loop = g_main_loop_new(nullptr, FALSE);
  bool ok = false;
  pipeline->start(nullptr, [&](bool success, const std::string &) {
    ok = success;
    pipeline.reset();  // as a daemon that forgets a finished job
    g_main_loop_quit(loop);
  });
  const guint timeout = g_timeout_add_seconds(kTimeoutSeconds, quit_loop, loop);
  g_main_loop_run(loop);
  g_source_remove(timeout);
  g_main_loop_unref(loop);
  EXPECT_TRUE(ok);
  EXPECT_EQ(pipeline, nullptr);
  EXPECT_TRUE(file_exists(settings.output_path));
}

TEST_F(SeparationPipelineTest, BlockingRunWritesTheOutput) {
  const SeparationSettings settings = tiny_model_settings("vocals.wav", OutputFormat::wav);
  std::vector<double> percents;
  const SeparationResult result =
      SeparationPipeline::run(settings, [&](double percent, GstClockTime, GstClockTime) { percents.push_back(percent); });
  EXPECT_TRUE(result.ok) << result.error_message;
  EXPECT_FALSE(result.cancelled);
  ASSERT_FALSE(percents.empty());
  EXPECT_DOUBLE_EQ(percents.back(), 100.0);
  EXPECT_GE(testing::snr_db(upstream_vocals(), testing::read_wav(settings.output_path).samples), 80.0);
}

TEST_F(SeparationPipelineTest, BlockingRunStopsWhenCancelled) {
  const SeparationSettings settings = tiny_model_settings("vocals.wav", OutputFormat::wav);
  GCancellable *cancellable = g_cancellable_new();
  const SeparationResult result = SeparationPipeline::run(
      settings, [&](double, GstClockTime, GstClockTime) { g_cancellable_cancel(cancellable); }, cancellable);
  g_object_unref(cancellable);
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.cancelled);
  EXPECT_EQ(result.error_message, "cancelled");
  EXPECT_FALSE(file_exists(settings.output_path));
  EXPECT_FALSE(file_exists(partial_output_path(settings.output_path)));
}

}  // namespace
}  // namespace demucs
