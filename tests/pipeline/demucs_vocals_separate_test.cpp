// `demucs-vocals separate` end to end: the built program, run as a
// subprocess with the tiny test model.
#include "support/scratch_directory.h"
#include "support/snr.h"
#include "support/npy_file.h"
#include "support/test_data.h"
#include "support/wav_file.h"

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace demucs {
namespace {

using testing::ScratchDirectory;
using testing::test_data;

::testing::AssertionResult contains(const std::string &text, const std::string &part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << part << "\" not found in:\n" << text;
}

bool file_exists(const std::string &path) { return g_file_test(path.c_str(), G_FILE_TEST_EXISTS); }

struct ProgramRun {
  int exit_status = -1;
  std::string out;
  std::string err;
};

class DemucsVocalsSeparateTest : public ::testing::Test {
 protected:
  // Starts the program with `arguments`; `environment` sets variables (an
  // empty value removes one).
  GSubprocess *start(const std::vector<std::string> &arguments,
                     const std::map<std::string, std::string> &environment = {}) const {
    GSubprocessLauncher *launcher = g_subprocess_launcher_new(
        static_cast<GSubprocessFlags>(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE));
    g_subprocess_launcher_setenv(launcher, "DEMUCS_VOCALS_CACHE", scratch_.file("cache").c_str(), TRUE);
    for (const auto &[name, value] : environment) {
      if (value.empty())
        g_subprocess_launcher_unsetenv(launcher, name.c_str());
      else
        g_subprocess_launcher_setenv(launcher, name.c_str(), value.c_str(), TRUE);
    }
    std::vector<const char *> argv = {DEMUCS_VOCALS_PROGRAM};
    for (const std::string &argument : arguments) argv.push_back(argument.c_str());
    argv.push_back(nullptr);
    GError *error = nullptr;
    GSubprocess *process = g_subprocess_launcher_spawnv(launcher, argv.data(), &error);
    g_object_unref(launcher);
    if (process == nullptr) {
      ADD_FAILURE() << "cannot start " << DEMUCS_VOCALS_PROGRAM << ": " << error->message;
      g_error_free(error);
    }
    return process;
  }

  static ProgramRun finish(GSubprocess *process) {
    ProgramRun result;
    if (process == nullptr) return result;
    gchar *out = nullptr;
    gchar *err = nullptr;
    g_subprocess_communicate_utf8(process, nullptr, nullptr, &out, &err, nullptr);
    result.out = out != nullptr ? out : "";
    result.err = err != nullptr ? err : "";
    g_free(out);
    g_free(err);
    if (g_subprocess_get_if_exited(process)) result.exit_status = g_subprocess_get_exit_status(process);
    g_object_unref(process);
    return result;
  }

  ProgramRun run(const std::vector<std::string> &arguments,
                 const std::map<std::string, std::string> &environment = {}) const {
    return finish(start(arguments, environment));
  }

  std::vector<std::string> folder_content() const {
    std::vector<std::string> names;
    if (GDir *dir = g_dir_open(scratch_.path().c_str(), 0, nullptr)) {
      while (const gchar *name = g_dir_read_name(dir)) names.push_back(name);
      g_dir_close(dir);
    }
    return names;
  }

  const std::string mix_ = test_data("mix.wav");
  const std::string model_ = test_data("htdemucs-tiny-4s.th");
  ScratchDirectory scratch_;
};

TEST_F(DemucsVocalsSeparateTest, SeparatesTheVocalsWithProgress) {
  const std::string output = scratch_.file("vocals.wav");
  const ProgramRun run = this->run({"separate", mix_, "-o", output, "--model", model_, "--device", "cpu"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(run.out, output + ": vocals of " + mix_ + " written\n");
  // Not a terminal: plain lines, the last one at 100%.
  EXPECT_TRUE(contains(run.err, "mix.wav (vocals)  100%  elapsed "));
  EXPECT_TRUE(contains(run.err, "  left 0:00\n"));
  EXPECT_EQ(run.err.find('\r'), std::string::npos);
  EXPECT_EQ(folder_content(), std::vector<std::string>{"vocals.wav"});

  const testing::WavAudio audio = testing::read_wav(output);
  ASSERT_EQ(audio.samples.size(1), 264600);
  const at::Tensor reference = testing::read_npy(test_data("tiny-4s.apply.drums-vocals.npy"))[1];
  EXPECT_GE(testing::snr_db(reference, audio.samples), 80.0);
}

// Every stem from one pass into a folder, named <input name>_<stem>.wav.
TEST_F(DemucsVocalsSeparateTest, StemAllWritesEveryStemIntoTheFolder) {
  const std::string folder = scratch_.file("stems");
  const ProgramRun run =
      this->run({"separate", mix_, "--stem", "all", "-o", folder + "/", "--model", model_, "--device", "cpu", "-q"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  std::string expected_out;
  for (const char *stem : {"drums", "bass", "other", "vocals", "instrumental"})
    expected_out += folder + "/mix_" + stem + ".wav: " + stem + " of " + mix_ + " written\n";
  EXPECT_EQ(run.out, expected_out);
  const at::Tensor reference = testing::read_npy(test_data("tiny-4s.apply.drums-vocals.npy"));
  const at::Tensor drums = testing::read_wav(folder + "/mix_drums.wav").samples;
  const at::Tensor vocals = testing::read_wav(folder + "/mix_vocals.wav").samples;
  ASSERT_EQ(vocals.size(1), 264600);
  EXPECT_GE(testing::snr_db(reference[0], drums), 80.0);
  EXPECT_GE(testing::snr_db(reference[1], vocals), 80.0);
  // The instrumental is everything but the vocals: with the other three it adds up.
  const at::Tensor instrumental = testing::read_wav(folder + "/mix_instrumental.wav").samples;
  const at::Tensor sum = drums + testing::read_wav(folder + "/mix_bass.wav").samples +
                         testing::read_wav(folder + "/mix_other.wav").samples;
  EXPECT_GE(testing::snr_db(sum, instrumental), 60.0);  // 16-bit files
}

TEST_F(DemucsVocalsSeparateTest, StemsListWritesThoseStemsInTheFormatAsked) {
  const std::string folder = scratch_.file("two");
  const ProgramRun run = this->run({"separate", mix_, "--stems", "vocals,instrumental", "-o", folder, "--format",
                                    "flac", "--model", model_, "-q"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  std::vector<std::string> names;
  GDir *dir = g_dir_open(folder.c_str(), 0, nullptr);
  ASSERT_NE(dir, nullptr);
  while (const gchar *name = g_dir_read_name(dir)) names.push_back(name);
  g_dir_close(dir);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"mix_instrumental.flac", "mix_vocals.flac"}));
}

TEST_F(DemucsVocalsSeparateTest, AStemTheModelLacksFailsAndLeavesNoFile) {
  const std::string folder = scratch_.file("none");
  const ProgramRun run = this->run({"separate", mix_, "--stems", "vocals,guitar", "-o", folder, "--model", model_});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_TRUE(contains(run.err, "unknown stem 'guitar'"));
  EXPECT_TRUE(contains(run.err, "valid stems: drums, bass, other, vocals, instrumental"));
  GDir *dir = g_dir_open(folder.c_str(), 0, nullptr);
  ASSERT_NE(dir, nullptr);
  EXPECT_EQ(g_dir_read_name(dir), nullptr) << "a file was left";
  g_dir_close(dir);
}

TEST_F(DemucsVocalsSeparateTest, AnExistingFileFirstMeansSeparate) {
  const std::string output = scratch_.file("drums.flac");
  const ProgramRun run = this->run({mix_, "-o", output, "--model", model_, "--stem", "drums", "-q"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(run.out, output + ": drums of " + mix_ + " written\n");
  EXPECT_EQ(run.err, "");  // --quiet
  std::ifstream file(output, std::ios::binary);
  char magic[4] = {};
  file.read(magic, 4);
  EXPECT_EQ(std::string(magic, 4), "fLaC");
}

TEST_F(DemucsVocalsSeparateTest, FormatOptionOverridesTheExtension) {
  const std::string output = scratch_.file("vocals.out");
  const ProgramRun run = this->run({"separate", mix_, "-o", output, "--model", model_, "--format", "mp3", "-q"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  std::ifstream file(output, std::ios::binary);
  char header[3] = {};
  file.read(header, 3);
  // An MP3 frame sync (0xFFE) or an ID3 tag.
  const bool mp3 = std::string(header, 3) == "ID3" ||
                   (static_cast<unsigned char>(header[0]) == 0xFF && (static_cast<unsigned char>(header[1]) & 0xE0) == 0xE0);
  EXPECT_TRUE(mp3);
}

TEST_F(DemucsVocalsSeparateTest, FindsTheElementWithoutGstPluginPath) {
  // Run from the build tree, the program looks in the build's gst-plugin folder itself.
  const std::string output = scratch_.file("vocals.wav");
  const ProgramRun run = this->run({"separate", mix_, "-o", output, "--model", model_, "-q"}, {{"GST_PLUGIN_PATH", ""}});
  EXPECT_EQ(run.exit_status, 0) << run.err;
  EXPECT_TRUE(file_exists(output));
}

TEST_F(DemucsVocalsSeparateTest, MissingGStreamerElementIsNamedWithItsPackage) {
  // No system plugins at all: only the build's demucsvocals is found.
  g_mkdir(scratch_.file("no-plugins").c_str(), 0755);
  const ProgramRun run = this->run({"separate", mix_, "-o", scratch_.file("vocals.wav"), "--model", model_},
                                   {{"GST_PLUGIN_SYSTEM_PATH_1_0", scratch_.file("no-plugins")},
                                    {"GST_REGISTRY", scratch_.file("registry.bin")},
                                    {"GST_PLUGIN_PATH", ""}});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_EQ(run.err,
            "demucs-vocals separate: the GStreamer element \"filesrc\" is not installed "
            "(plugin coreelements, package libgstreamer1.0-0)\n");
  EXPECT_FALSE(file_exists(scratch_.file("vocals.wav")));
}

TEST_F(DemucsVocalsSeparateTest, InterruptLeavesNoOutput) {
  const std::string output = scratch_.file("vocals.wav");
  // Shifts make the run long enough to be interrupted in the middle.
  GSubprocess *process =
      start({"separate", mix_, "-o", output, "--model", model_, "--shifts", "10", "--device", "cpu"});
  ASSERT_NE(process, nullptr);
  const std::string partial = output + ".partial";
  const gint64 deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
  while (!file_exists(partial) && g_get_monotonic_time() < deadline) g_usleep(10 * 1000);
  ASSERT_TRUE(file_exists(partial)) << "the program never started writing";
  g_subprocess_send_signal(process, SIGINT);
  const ProgramRun run = finish(process);
  EXPECT_EQ(run.exit_status, 130) << run.err;
  EXPECT_TRUE(contains(run.err, "demucs-vocals separate: interrupted; no output was left\n"));
  EXPECT_FALSE(file_exists(output));
  EXPECT_FALSE(file_exists(partial));
}

TEST_F(DemucsVocalsSeparateTest, MissingInputFails) {
  const std::string input = scratch_.file("no-such-song.mp3");
  const ProgramRun run = this->run({input, "-o", scratch_.file("vocals.wav"), "--model", model_});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_EQ(run.err, "demucs-vocals separate: the input file " + input + " does not exist\n");
  EXPECT_TRUE(folder_content().empty());
}

TEST_F(DemucsVocalsSeparateTest, TextFileIsNotAudio) {
  const std::string input = scratch_.file("notes.mp3");
  std::ofstream(input) << "not music\n";
  const ProgramRun run = this->run({"separate", input, "-o", scratch_.file("vocals.wav"), "--model", model_});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_TRUE(contains(run.err, "demucs-vocals separate: " + input + " is not an audio file that GStreamer can read"));
  EXPECT_EQ(folder_content(), std::vector<std::string>{"notes.mp3"});
}

TEST_F(DemucsVocalsSeparateTest, ModelNotInTheCacheSaysHowToFetchIt) {
  const ProgramRun run = this->run({"separate", mix_, "-o", scratch_.file("vocals.wav"), "--model", "htdemucs"});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_TRUE(contains(run.err, "demucs-vocals fetch htdemucs"));
  EXPECT_FALSE(file_exists(scratch_.file("vocals.wav")));
  EXPECT_FALSE(file_exists(scratch_.file("vocals.wav.partial")));
}

TEST_F(DemucsVocalsSeparateTest, HalfPrecisionOnTheCpuFailsWithWhatToUse) {
  const ProgramRun run = this->run({"separate", mix_, "-o", scratch_.file("vocals.wav"), "--model", model_,
                                    "--device", "cpu", "--precision", "fp16"});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_TRUE(contains(run.err, "fp16 needs a CUDA device")) << run.err;
  EXPECT_TRUE(folder_content().empty());
}

TEST_F(DemucsVocalsSeparateTest, UnknownStemFails) {
  const ProgramRun run =
      this->run({"separate", mix_, "-o", scratch_.file("vocals.wav"), "--model", model_, "--stem", "kazoo"});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_TRUE(contains(run.err, "demucs-vocals separate: "));
  EXPECT_TRUE(contains(run.err, "kazoo"));
  EXPECT_TRUE(folder_content().empty());
}

TEST_F(DemucsVocalsSeparateTest, WrongUsageExitsWith2) {
  ProgramRun run = this->run({"separate", mix_});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_TRUE(contains(run.err, "name the output file with -o FILE"));

  run = this->run({"separate", "-o", scratch_.file("vocals.wav")});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_TRUE(contains(run.err, "name the audio file to separate"));

  run = this->run({"separate", mix_, "-o", scratch_.file("vocals.ogg")});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_TRUE(contains(run.err, "cannot tell the format from the name " + scratch_.file("vocals.ogg") +
                                    "; use --format (wav, flac, mp3)"));

  run = this->run({"separate", mix_, "-o", scratch_.file("vocals.wav"), "--format", "aiff"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_TRUE(contains(run.err, "unknown format \"aiff\"; the formats are wav, flac, mp3"));

  run = this->run({"separate", mix_, "-o", scratch_.file("vocals.wav"), "--shifts", "many"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_TRUE(contains(run.err, "--shifts"));
  EXPECT_TRUE(folder_content().empty());
}

TEST_F(DemucsVocalsSeparateTest, HelpListsTheOptions) {
  const ProgramRun run = this->run({"separate", "--help"});
  EXPECT_EQ(run.exit_status, 0);
  for (const char *option : {"--output=FILE", "--stem=STEM", "--model=NAME|FILE", "--device=auto|cpu|cuda",
                             "--precision=fp32|fp16|bf16", "--format=wav|flac|mp3", "--overlap=FRACTION",
                             "--shifts=N", "--threads=N"})
    EXPECT_TRUE(contains(run.out, option));
  const ProgramRun top = this->run({"--help"});
  EXPECT_TRUE(contains(top.out, "  separate INPUT     separate the vocals"));
}

}  // namespace
}  // namespace demucs
