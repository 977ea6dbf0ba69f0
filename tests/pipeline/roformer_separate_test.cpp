// `demucs-vocals separate IN -o OUT --model X.ckpt [--config X.yaml]` end to
// end: the built program as a subprocess with the tiny RoFormer fixtures
// (tests/data/roformer/), its output against the reference demix.
#include "support/npy_file.h"
#include "support/scratch_directory.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/wav_file.h"

#include <glib.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <string>
#include <vector>

namespace demucs {
namespace {

using testing::read_npy;
using testing::read_wav;
using testing::ScratchDirectory;
using testing::snr_db;
using testing::test_data;

struct ProgramRun {
  int exit_status = -1;
  std::string out;
  std::string err;
};

// demucs-vocals with `arguments`, the model cache in `cache`.
ProgramRun run_program(const std::vector<std::string>& arguments, const std::string& cache) {
  std::vector<gchar*> argv = {const_cast<gchar*>(DEMUCS_VOCALS_PROGRAM)};
  for (const auto& argument : arguments) argv.push_back(const_cast<gchar*>(argument.c_str()));
  argv.push_back(nullptr);
  gchar** environment = g_environ_setenv(g_get_environ(), "DEMUCS_VOCALS_CACHE", cache.c_str(), TRUE);
  gchar* out = nullptr;
  gchar* err = nullptr;
  gint status = 0;
  GError* error = nullptr;
  ProgramRun run;
  if (!g_spawn_sync(nullptr, argv.data(), environment, G_SPAWN_DEFAULT, nullptr, nullptr, &out, &err, &status,
                    &error)) {
    ADD_FAILURE() << "cannot start " << DEMUCS_VOCALS_PROGRAM << ": " << error->message;
    g_error_free(error);
  } else {
    run.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = out;
    run.err = err;
  }
  g_free(out);
  g_free(err);
  g_strfreev(environment);
  return run;
}

class RoformerSeparate : public ::testing::Test {
 protected:
  ProgramRun run(const std::vector<std::string>& arguments) const {
    return run_program(arguments, scratch_.file("cache"));
  }

  const std::string mix_ = test_data("mix.wav");
  ScratchDirectory scratch_;
};

TEST_F(RoformerSeparate, ModelAndConfigGiveTheReferenceVocals) {
  const std::string output = scratch_.file("vocals.wav");
  const ProgramRun run = this->run({"separate", mix_, "-o", output, "--model", test_data("roformer/bs-tiny.ckpt"),
                                    "--config", test_data("roformer/bs-tiny.yaml"), "--device", "cpu", "-q"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(run.out, output + ": vocals of " + mix_ + " written\n");
  const at::Tensor vocals = read_wav(output).samples;
  const at::Tensor expected = read_npy(test_data("roformer/bs-tiny.demix.npy"));
  ASSERT_EQ(vocals.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, vocals), 80.0);
}

// Without --config, the .yaml beside the .ckpt; both stems from one pass.
TEST_F(RoformerSeparate, StemsVocalsAndInstrumentalWithTheConfigBesideTheCheckpoint) {
  const std::string folder = scratch_.file("stems");
  const ProgramRun run = this->run({"separate", mix_, "--stem", "all", "-o", folder, "--model",
                                    test_data("roformer/mel-tiny.ckpt"), "--device", "cpu", "-q"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(run.out, folder + "/mix_vocals.wav: vocals of " + mix_ + " written\n" + folder +
                         "/mix_instrumental.wav: instrumental of " + mix_ + " written\n");
  const at::Tensor expected = read_npy(test_data("roformer/mel-tiny.demix.npy"));
  EXPECT_GE(snr_db(expected, read_wav(folder + "/mix_vocals.wav").samples), 80.0);
  EXPECT_GE(snr_db(read_wav(mix_).samples - expected, read_wav(folder + "/mix_instrumental.wav").samples), 80.0);
}

TEST_F(RoformerSeparate, AMissingConfigFailsNamingItAndLeavesNoFile) {
  const std::string checkpoint = scratch_.file("lonely.ckpt");
  std::filesystem::copy_file(test_data("roformer/bs-tiny.ckpt"), checkpoint);
  const std::string output = scratch_.file("vocals.wav");
  const ProgramRun run = this->run({"separate", mix_, "-o", output, "--model", checkpoint, "--device", "cpu"});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_NE(run.err.find(scratch_.file("lonely.yaml")), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(output));
}

}  // namespace
}  // namespace demucs
