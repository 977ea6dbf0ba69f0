// The element as users run it: gst-launch-1.0 and gst-inspect-1.0 as
// subprocesses, with the plugin from the build tree (GST_PLUGIN_PATH and
// GST_REGISTRY come from meson's test environment). Inputs in several codecs
// are encoded once per test binary with GStreamer's own encoders.
#include "loading/stem_model.h"
#include "separator/separate.h"
#include "support/npy_file.h"
#include "support/scratch_directory.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/wav_file.h"

#include <ATen/ATen.h>
#include <glib.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace demucs {
namespace {

using testing::read_npy;
using testing::read_wav;
using testing::snr_db;
using testing::test_data;

constexpr double kMinSnrDb = 80.0;
constexpr int64_t kMixFrames = 264600;

struct ProcessResult {
  int exit_status = -1;
  std::string out;
  std::string err;
  bool succeeded() const { return exit_status == 0; }
};

// Runs a command line (split as a shell would, without a shell).
ProcessResult run(const std::string& command_line) {
  ProcessResult result;
  gchar** argv = nullptr;
  GError* error = nullptr;
  if (!g_shell_parse_argv(command_line.c_str(), nullptr, &argv, &error)) {
    ADD_FAILURE() << error->message;
    g_error_free(error);
    return result;
  }
  gchar* out = nullptr;
  gchar* err = nullptr;
  gint status = 0;
  const gboolean spawned = g_spawn_sync(nullptr, argv, nullptr, G_SPAWN_SEARCH_PATH, nullptr, nullptr, &out, &err,
                                        &status, &error);
  g_strfreev(argv);
  if (!spawned) {
    ADD_FAILURE() << "cannot run " << command_line << ": " << error->message;
    g_error_free(error);
    return result;
  }
  result.out = out != nullptr ? out : "";
  result.err = err != nullptr ? err : "";
  g_free(out);
  g_free(err);
  result.exit_status = g_spawn_check_wait_status(status, nullptr) ? 0 : (WIFEXITED(status) ? WEXITSTATUS(status) : 255);
  return result;
}

std::string quoted(const std::string& text) {
  gchar* q = g_shell_quote(text.c_str());
  std::string result = q;
  g_free(q);
  return result;
}

std::string tiny_model() { return quoted(test_data("htdemucs-tiny-4s.th")); }

// Test inputs, made once for the whole binary.
class Inputs {
 public:
  static Inputs& get() {
    static Inputs inputs;
    return inputs;
  }
  // "" when this GStreamer has no encoder for it.
  const std::string& path(const std::string& name) { return paths_[name]; }
  std::string scratch(const std::string& name) const { return directory_.file(name); }

 private:
  Inputs() {
    const std::string source = "filesrc location=" + quoted(test_data("mix.wav")) + " ! wavparse ! audioconvert ! ";
    encode("mp3", source + "lamemp3enc ! filesink location=");
    encode("ogg", source + "vorbisenc ! oggmux ! filesink location=");
    encode("flac", source + "flacenc ! filesink location=");
    if (!encode("m4a", source + "avenc_aac ! mp4mux ! filesink location=")) {
      encode("m4a", source + "voaacenc ! mp4mux ! filesink location=");
    }
    encode("48k.wav", source + "audioresample ! audio/x-raw,rate=48000 ! wavenc ! filesink location=");
    encode("22k.wav", source + "audioresample ! audio/x-raw,rate=22050 ! wavenc ! filesink location=");
    encode("mono.wav", source + "audio/x-raw,channels=1 ! wavenc ! filesink location=");
  }
  bool encode(const std::string& name, const std::string& pipeline) {
    const std::string file = directory_.file("input." + name);
    const ProcessResult result = run("gst-launch-1.0 -q " + pipeline + quoted(file));
    paths_[name] = result.succeeded() ? file : "";
    return result.succeeded();
  }

  testing::ScratchDirectory directory_;
  std::map<std::string, std::string> paths_;
};

// Decodes `input` to 44.1 kHz float, through the element or not.
at::Tensor decode(const std::string& input, const std::string& element, const std::string& output,
                  std::string* log = nullptr) {
  const ProcessResult result = run("gst-launch-1.0 -q filesrc location=" + quoted(input) +
                                   " ! decodebin ! audioconvert ! audioresample ! " + element +
                                   " ! wavenc ! filesink location=" + quoted(output));
  EXPECT_TRUE(result.succeeded()) << result.out << result.err;
  if (log != nullptr) *log = result.out + result.err;
  if (!result.succeeded()) return {};
  return read_wav(output).samples;
}

const std::string kElement = "demucsvocals device=cpu model=" + tiny_model();
const std::string kDecodedOnly = "audio/x-raw,format=F32LE,rate=44100";

struct DecodeCase {
  std::string input;
  int64_t tolerance;  // frames the length may differ from the mix (codec padding, resampling)
};

class LaunchDecodebin : public ::testing::TestWithParam<DecodeCase> {};

// Exactly as many frames out as the element got in; stereo; sound, not silence.
TEST_P(LaunchDecodebin, OutputHasTheInputsLengthAndIsSane) {
  const DecodeCase& c = GetParam();
  const std::string input = Inputs::get().path(c.input);
  if (input.empty()) GTEST_SKIP() << "no GStreamer encoder for " << c.input;
  const at::Tensor decoded = decode(input, kDecodedOnly, Inputs::get().scratch(c.input + ".decoded.wav"));
  const at::Tensor out = decode(input, kElement, Inputs::get().scratch(c.input + ".vocals.wav"));
  ASSERT_TRUE(decoded.defined() && out.defined());
  EXPECT_EQ(out.size(0), 2);
  EXPECT_EQ(out.size(1), decoded.size(1));
  EXPECT_LE(std::abs(out.size(1) - kMixFrames), c.tolerance) << out.size(1);
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
  const double rms = out.pow(2).mean().sqrt().item<double>();
  EXPECT_GT(rms, 1e-4);
  EXPECT_LT(out.abs().max().item<double>(), 4.0);
}

INSTANTIATE_TEST_SUITE_P(Codecs, LaunchDecodebin,
                         ::testing::Values(DecodeCase{"mp3", 4096}, DecodeCase{"ogg", 4096}, DecodeCase{"flac", 0},
                                           DecodeCase{"m4a", 4096}, DecodeCase{"48k.wav", 64},
                                           DecodeCase{"22k.wav", 64}, DecodeCase{"mono.wav", 0}),
                         [](const ::testing::TestParamInfo<DecodeCase>& info) {
                           std::string name = info.param.input;
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

// The fixture mix through wavparse gives upstream's vocals, with progress on the bus.
TEST(Launch, WavMixGivesUpstreamVocalsAndReportsProgress) {
  const std::string output = Inputs::get().scratch("golden.vocals.wav");
  const ProcessResult result = run("gst-launch-1.0 -m filesrc location=" + quoted(test_data("mix.wav")) +
                                   " ! wavparse ! audioconvert ! " + kElement +
                                   " stem=vocals ! wavenc ! filesink location=" + quoted(output));
  ASSERT_TRUE(result.succeeded()) << result.out << result.err;
  const at::Tensor out = read_wav(output).samples;
  const at::Tensor expected = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"))[1];
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, out), kMinSnrDb);

  // Progress messages: total from wavparse's duration, percent up to 100.
  std::istringstream lines(result.out);
  std::string line;
  std::vector<double> percents;
  while (std::getline(lines, line)) {
    if (line.find("demucs-progress") == std::string::npos) continue;
    EXPECT_NE(line.find("total=(guint64)6000000000"), std::string::npos) << line;
    const auto at = line.find("percent=(double)");
    ASSERT_NE(at, std::string::npos) << line;
    percents.push_back(std::stod(line.substr(at + 16)));
  }
  ASSERT_GE(percents.size(), 4u);
  for (size_t i = 1; i < percents.size(); ++i) EXPECT_GE(percents[i], percents[i - 1]);
  EXPECT_EQ(percents.back(), 100.0);
}

// The fixture mix through gst-launch with other stems and settings.
struct GoldenCase {
  std::string name;
  std::string settings;  // properties after the model
  std::string reference;
  int64_t index;
};

at::Tensor separate_with_launch(const std::string& model, const std::string& settings, const std::string& output) {
  const ProcessResult result = run("gst-launch-1.0 -q filesrc location=" + quoted(test_data("mix.wav")) +
                                   " ! wavparse ! audioconvert ! demucsvocals device=cpu model=" +
                                   quoted(test_data(model)) + " " + settings +
                                   " ! wavenc ! filesink location=" + quoted(output));
  EXPECT_TRUE(result.succeeded()) << result.out << result.err;
  if (!result.succeeded()) return {};
  return read_wav(output).samples;
}

class LaunchGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(LaunchGolden, OutputMatchesUpstream) {
  const GoldenCase& c = GetParam();
  const std::string model = c.name == "six_sources_guitar" ? "htdemucs-tiny-6s.th" : "htdemucs-tiny-4s.th";
  const at::Tensor out = separate_with_launch(model, c.settings, Inputs::get().scratch(c.name + ".wav"));
  ASSERT_TRUE(out.defined());
  const at::Tensor expected = read_npy(test_data(c.reference))[c.index];
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, out), kMinSnrDb);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, LaunchGolden,
    ::testing::Values(GoldenCase{"drums", "stem=drums", "tiny-4s.apply.drums-vocals.npy", 0},
                      GoldenCase{"overlap50", "stem=vocals overlap=0.5", "tiny-4s.apply-overlap50.vocals.npy", 0},
                      GoldenCase{"six_sources_guitar", "stem=guitar", "tiny-6s.apply.vocals-guitar.npy", 1}),
    [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

TEST(Launch, InstrumentalIsTheSumOfTheSeparatorsNonVocalStems) {
  const at::Tensor out =
      separate_with_launch("htdemucs-tiny-4s.th", "stem=instrumental", Inputs::get().scratch("instrumental.wav"));
  ASSERT_TRUE(out.defined());
  const StemModel model = load_stem_model(test_data("htdemucs-tiny-4s.th"), "instrumental", at::kCPU);
  SeparatorOptions options;
  options.stems = {"drums", "bass", "other"};
  const at::Tensor expected = separate(model.bag, read_wav(test_data("mix.wav")).samples, options).sum(0);
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, out), kMinSnrDb);
}

// demucsdemux: every stem from one run, each equal to upstream's and to
// demucsvocals with that stem; the unlinked pads do not stall the linked ones.
struct DemuxCase {
  std::string model;
  std::string reference;
  std::vector<std::string> stems;  // in the reference's order
};

TEST(LaunchDemux, EveryLinkedPadMatchesUpstreamAndDemucsvocals) {
  for (const DemuxCase& c : {DemuxCase{"htdemucs-tiny-4s.th", "tiny-4s.apply.drums-vocals.npy", {"drums", "vocals"}},
                             DemuxCase{"htdemucs-tiny-6s.th", "tiny-6s.apply.vocals-guitar.npy", {"vocals", "guitar"}}}) {
    std::string branches;
    for (const auto& stem : c.stems) {
      branches += " d.src_" + stem + " ! queue ! wavenc ! filesink location=" +
                  quoted(Inputs::get().scratch("demux-" + c.model + "-" + stem + ".wav"));
    }
    const ProcessResult result = run("gst-launch-1.0 -q filesrc location=" + quoted(test_data("mix.wav")) +
                                     " ! wavparse ! audioconvert ! demucsdemux name=d device=cpu model=" +
                                     quoted(test_data(c.model)) + branches);
    ASSERT_TRUE(result.succeeded()) << result.out << result.err;
    const at::Tensor expected = read_npy(test_data(c.reference));
    for (size_t i = 0; i < c.stems.size(); ++i) {
      const at::Tensor out = read_wav(Inputs::get().scratch("demux-" + c.model + "-" + c.stems[i] + ".wav")).samples;
      ASSERT_EQ(out.sizes(), expected[static_cast<int64_t>(i)].sizes()) << c.model << " " << c.stems[i];
      EXPECT_GE(snr_db(expected[static_cast<int64_t>(i)], out), kMinSnrDb) << c.model << " " << c.stems[i];
      const at::Tensor single = separate_with_launch(c.model, "stem=" + c.stems[i],
                                                     Inputs::get().scratch("single-" + c.stems[i] + ".wav"));
      ASSERT_TRUE(single.defined());
      EXPECT_TRUE(at::equal(single, out)) << c.model << " " << c.stems[i] << ": demucsdemux differs from demucsvocals";
    }
  }
}

TEST(Inspect, DescribesTheDemuxerAndItsPadTemplate) {
  const ProcessResult result = run("gst-inspect-1.0 demucsdemux");
  ASSERT_TRUE(result.succeeded()) << result.err;
  EXPECT_NE(result.out.find("Demucs stem demuxer"), std::string::npos);
  EXPECT_NE(result.out.find("SRC template: 'src_%s'"), std::string::npos);
  EXPECT_NE(result.out.find("Availability: Sometimes"), std::string::npos);
  EXPECT_NE(result.out.find("forward-passes"), std::string::npos);
  EXPECT_EQ(result.out.find("  stem "), std::string::npos) << "demucsdemux has no stem property";
}

TEST(Launch, StreamShorterThanASegmentKeepsItsLength) {
  const std::string output = Inputs::get().scratch("short.wav");
  const ProcessResult result =
      run("gst-launch-1.0 -q audiotestsrc num-buffers=1 samplesperbuffer=13230 ! "
          "audio/x-raw,rate=44100,channels=2 ! audioconvert ! " +
          kElement + " ! wavenc ! filesink location=" + quoted(output));
  ASSERT_TRUE(result.succeeded()) << result.out << result.err;
  const at::Tensor out = read_wav(output).samples;
  EXPECT_EQ(out.size(0), 2);
  EXPECT_EQ(out.size(1), 13230);
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
}

TEST(Launch, EmptyStreamEndsCleanly) {
  const ProcessResult result = run("gst-launch-1.0 audiotestsrc num-buffers=0 ! audio/x-raw,rate=44100,channels=2 ! "
                                   "audioconvert ! " +
                                   kElement + " ! fakesink");
  EXPECT_TRUE(result.succeeded()) << result.out << result.err;
  EXPECT_NE(result.out.find("Got EOS"), std::string::npos) << result.out;
}

TEST(Launch, WrongRateFailsAndSaysToAddAudioresample) {
  const ProcessResult result = run("gst-launch-1.0 audiotestsrc num-buffers=5 ! audio/x-raw,rate=48000,channels=2 ! "
                                   "audioconvert ! " +
                                   kElement + " ! fakesink");
  EXPECT_FALSE(result.succeeded());
  EXPECT_NE((result.out + result.err).find("put audioresample in front"), std::string::npos) << result.out << result.err;
}

TEST(Launch, MissingModelFailsBeforePlayingWithThePathAndTheFix) {
  const ProcessResult result = run(
      "gst-launch-1.0 audiotestsrc num-buffers=5 ! audioconvert ! demucsvocals model=/nonexistent/model.th ! fakesink");
  EXPECT_FALSE(result.succeeded());
  const std::string log = result.out + result.err;
  EXPECT_NE(log.find("/nonexistent/model.th"), std::string::npos) << log;
  EXPECT_NE(log.find("demucs-vocals fetch"), std::string::npos) << log;
  EXPECT_EQ(log.find("Setting pipeline to PLAYING"), std::string::npos) << log;
}

// LibTorch's OpenMP runtime reads its wait policy once, when the plugin's
// loader loads the elements' library: gst-launch-1.0 without OMP_WAIT_POLICY
// gets PASSIVE threads (a spin count of 0; libgomp's default spins 300000
// times), and a policy the user set is kept. libgomp prints what it runs with
// under OMP_DISPLAY_ENV=verbose (once per process that loads it: the
// registry's scanner, and gst-launch-1.0 itself).
std::vector<std::string> openmp_spin_counts(const std::string& environment) {
  const ProcessResult result =
      run("env -u OMP_WAIT_POLICY OMP_DISPLAY_ENV=verbose " + environment +
          " gst-launch-1.0 audiotestsrc num-buffers=5 ! audio/x-raw,rate=44100,channels=2 ! " + kElement +
          " ! fakesink");
  EXPECT_TRUE(result.succeeded()) << result.out << result.err;
  std::vector<std::string> counts;
  std::istringstream lines(result.err);
  for (std::string line; std::getline(lines, line);) {
    const std::size_t at = line.find("GOMP_SPINCOUNT = '");
    if (at != std::string::npos) counts.push_back(line.substr(at + 18, line.find('\'', at + 18) - at - 18));
  }
  return counts;
}

TEST(Launch, OpenMpThreadsSleepBetweenOperationsUnlessTheUserSaysOtherwise) {
  for (const std::string& count : openmp_spin_counts("")) EXPECT_EQ(count, "0");
  EXPECT_FALSE(openmp_spin_counts("").empty()) << "libgomp printed no GOMP_SPINCOUNT";
  const std::vector<std::string> active = openmp_spin_counts("OMP_WAIT_POLICY=ACTIVE");
  ASSERT_FALSE(active.empty());
  for (const std::string& count : active) EXPECT_NE(count, "0") << "the user's ACTIVE was overridden";
}

// The plugin file without its elements' library (a broken installation):
// the element is missing and the reason is on stderr.
TEST(Inspect, PluginWithoutItsElementsLibrarySaysWhatIsMissing) {
  const char* plugin_folder = g_getenv("GST_PLUGIN_PATH");
  ASSERT_NE(plugin_folder, nullptr);
  testing::ScratchDirectory scratch;
  const std::string copy = scratch.file("libgstdemucsvocals.so");
  ASSERT_TRUE(run("cp " + quoted(std::string(plugin_folder) + "/libgstdemucsvocals.so") + " " + quoted(copy))
                  .succeeded());
  const ProcessResult result =
      run("env GST_PLUGIN_PATH=" + quoted(scratch.path()) + " GST_REGISTRY=" + quoted(scratch.file("registry.bin")) +
          " GST_PLUGIN_SYSTEM_PATH_1_0= GST_PLUGIN_SYSTEM_PATH= gst-inspect-1.0 demucsvocals");
  EXPECT_FALSE(result.succeeded());
  EXPECT_NE(result.err.find("libdemucsvocals-elements.so is not installed next to " + copy), std::string::npos)
      << result.out << result.err;
}

TEST(Inspect, DescribesTheElementAndEveryProperty) {
  const ProcessResult result = run("gst-inspect-1.0 demucsvocals");
  ASSERT_TRUE(result.succeeded()) << result.err;
  const std::string& text = result.out;
  EXPECT_NE(text.find("Demucs stem separator"), std::string::npos);
  EXPECT_NE(text.find("Separates vocals, instrumental or any stem"), std::string::npos);
  // name, a piece of its blurb, its default (and range where it has one)
  const std::vector<std::vector<std::string>> properties = {
      {"model", "Known model name", "Default: \"htdemucs\""},
      {"device", "auto (CUDA when available", "Default: \"auto\""},
      {"stem", "instrumental (the sum", "Default: \"vocals\""},
      {"segment", "0 = the model's own", "Range:               0 -            3600 Default:               0"},
      {"overlap", "neighbouring segments", "Range:               0 -            0.99 Default:            0.25"},
      {"shifts", "random time shifts", "Range: 0 - 20 Default: 0"},
      {"seed", "Seed of the random shifts", "Range: 0 - 18446744073709551615 Default: 0"},
      {"threads", "0 = all cores", "Range: 0 - 1024 Default: 0"},
      {"batch-size", "one forward pass", "Range: 1 - 64 Default: 1"},
  };
  for (const auto& property : properties) {
    const auto at = text.find("  " + property[0] + " ");
    ASSERT_NE(at, std::string::npos) << property[0];
    const std::string entry = text.substr(at, 600);
    EXPECT_NE(entry.find(property[1]), std::string::npos) << entry;
    EXPECT_NE(entry.find(property[2]), std::string::npos) << entry;
  }
}

}  // namespace
}  // namespace demucs
