// The demucs-vocals program end to end: the built binary, run with its cache
// in a temporary folder and its download root on a local server (127.0.0.1).
// `fetch htdemucs` goes through the production registry and hash check: the
// server sends a small stand-in whose sha256 really starts with htdemucs's
// published prefix (see fake_htdemucs_checkpoint.h).
#include "fake_htdemucs_checkpoint.h"
#include "loopback_http_server.h"
#include "temporary_folder.h"

#include <gio/gio.h>
#include <glib.h>
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <string>
#include <vector>

namespace demucs {
namespace {

constexpr const char *kHtdemucsFile = "955717e8-8726e21a.th";
constexpr const char *kHtdemucsPath = "/hybrid_transformer/955717e8-8726e21a.th";

::testing::AssertionResult contains(const std::string &text, const std::string &part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << part << "\" not found in:\n" << text;
}

struct ProgramRun {
  int exit_status = -1;
  bool killed_by_signal = false;
  std::string out;
  std::string err;
};

class DemucsVocalsCommandTest : public ::testing::Test {
 protected:
  DemucsVocalsCommandTest() : cache_folder_(folder_.file("cache")) {
    environment_["DEMUCS_VOCALS_CACHE"] = cache_folder_;
    environment_["DEMUCS_VOCALS_MODEL_URL"] = server_.root_url();
    environment_["no_proxy"] = "127.0.0.1";
  }

  GSubprocess *start(const std::vector<std::string> &arguments) const {
    GSubprocessLauncher *launcher = g_subprocess_launcher_new(
        static_cast<GSubprocessFlags>(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE));
    for (const auto &[name, value] : environment_)
      g_subprocess_launcher_setenv(launcher, name.c_str(), value.c_str(), TRUE);
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
    ProgramRun run;
    if (process == nullptr) return run;
    gchar *out = nullptr;
    gchar *err = nullptr;
    g_subprocess_communicate_utf8(process, nullptr, nullptr, &out, &err, nullptr);
    run.out = out ? out : "";
    run.err = err ? err : "";
    g_free(out);
    g_free(err);
    if (g_subprocess_get_if_exited(process))
      run.exit_status = g_subprocess_get_exit_status(process);
    else
      run.killed_by_signal = true;
    g_object_unref(process);
    return run;
  }

  ProgramRun run(const std::vector<std::string> &arguments) const {
    return finish(start(arguments));
  }

  std::vector<std::string> cache_content() const {
    std::vector<std::string> names;
    if (GDir *dir = g_dir_open(cache_folder_.c_str(), 0, nullptr)) {
      while (const gchar *name = g_dir_read_name(dir)) names.push_back(name);
      g_dir_close(dir);
    }
    return names;
  }

  LoopbackHttpServer server_;
  TemporaryFolder folder_;
  const std::string cache_folder_;
  std::map<std::string, std::string> environment_;
};

TEST(FakeHtdemucsCheckpoint, HasTheSha256PrefixOfTheRealOne) {
  gchar *hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, kFakeHtdemucsCheckpoint, -1);
  EXPECT_EQ(std::string(hex).substr(0, 8), "8726e21a");
  g_free(hex);
}

TEST_F(DemucsVocalsCommandTest, FetchDownloadsAVerifiedModelOnce) {
  server_.serve(kHtdemucsPath, {200, kFakeHtdemucsCheckpoint, -1, false});

  const ProgramRun first = run({"fetch", "htdemucs"});
  EXPECT_EQ(first.exit_status, 0) << first.err;
  EXPECT_TRUE(contains(first.out, "htdemucs 955717e8-8726e21a.th: downloaded and verified"));
  EXPECT_TRUE(contains(first.out, "htdemucs: ready in " + cache_folder_));
  // Not a terminal: plain lines, the last one complete.
  EXPECT_TRUE(contains(first.err, "htdemucs 955717e8-8726e21a.th  100%  0.0/0.0 MB  "));
  EXPECT_TRUE(contains(first.err, " MB/s\n"));
  EXPECT_EQ(first.err.find('\r'), std::string::npos);
  EXPECT_EQ(cache_content(), std::vector<std::string>{kHtdemucsFile});
  EXPECT_EQ(read_file_content(cache_folder_ + "/" + kHtdemucsFile), kFakeHtdemucsCheckpoint);
  EXPECT_EQ(server_.requested_paths(), std::vector<std::string>{kHtdemucsPath});

  const ProgramRun second = run({"fetch", "htdemucs"});
  EXPECT_EQ(second.exit_status, 0) << second.err;
  EXPECT_TRUE(contains(second.out, "htdemucs 955717e8-8726e21a.th: already in the cache, verified"));
  EXPECT_EQ(server_.requested_paths().size(), 1u) << "a verified file is not downloaded again";
}

TEST_F(DemucsVocalsCommandTest, QuietFetchPrintsNoProgress) {
  server_.serve(kHtdemucsPath, {200, kFakeHtdemucsCheckpoint, -1, false});
  const ProgramRun fetch = run({"fetch", "--quiet", "htdemucs"});
  EXPECT_EQ(fetch.exit_status, 0);
  EXPECT_EQ(fetch.err, "");
  EXPECT_TRUE(contains(fetch.out, "htdemucs 955717e8-8726e21a.th: downloaded and verified"));
  EXPECT_EQ(read_file_content(cache_folder_ + "/" + kHtdemucsFile), kFakeHtdemucsCheckpoint);
}

TEST_F(DemucsVocalsCommandTest, FetchOfAMissingFileNamesTheUrlAndTheFolder) {
  const ProgramRun run_6s = run({"fetch", "htdemucs_6s"});
  EXPECT_EQ(run_6s.exit_status, 1);
  EXPECT_TRUE(contains(run_6s.err, "demucs-vocals fetch: could not download " + server_.root_url() +
                                       "hybrid_transformer/5c90dfd2-34c22ccb.th"));
  EXPECT_TRUE(contains(run_6s.err, "HTTP 404"));
  EXPECT_TRUE(contains(run_6s.err, "put it into the folder " + cache_folder_));
  EXPECT_TRUE(cache_content().empty());
}

TEST_F(DemucsVocalsCommandTest, FetchRejectsContentWithTheWrongHash) {
  server_.serve(kHtdemucsPath, {200, std::string(kFakeHtdemucsCheckpoint) + "!", -1, false});
  const ProgramRun fetch = run({"fetch", "htdemucs"});
  EXPECT_EQ(fetch.exit_status, 1);
  EXPECT_TRUE(contains(fetch.err, "does not start with 8726e21a"));
  EXPECT_TRUE(cache_content().empty());
}

TEST_F(DemucsVocalsCommandTest, FetchOfflineNamesTheUrlAndTheFolder) {
  const std::string root = "http://127.0.0.1:" + std::to_string(closed_loopback_port()) + "/";
  environment_["DEMUCS_VOCALS_MODEL_URL"] = root;
  const ProgramRun fetch = run({"fetch", "htdemucs"});
  EXPECT_EQ(fetch.exit_status, 1);
  EXPECT_TRUE(contains(fetch.err, "could not download " + root + "hybrid_transformer/" + kHtdemucsFile));
  EXPECT_TRUE(contains(fetch.err, "put it into the folder " + cache_folder_));
  EXPECT_TRUE(cache_content().empty());
}

TEST_F(DemucsVocalsCommandTest, InterruptingAFetchLeavesNoPartialFile) {
  server_.serve(kHtdemucsPath, {200, std::string(1000, 'x'), 1 << 20, true});
  GSubprocess *process = start({"fetch", "htdemucs"});
  ASSERT_NE(process, nullptr);
  // Wait until the transfer has started writing its temporary file.
  bool partial_seen = false;
  for (int i = 0; i < 1000 && !partial_seen; ++i) {
    for (const std::string &name : cache_content())
      if (name.find(".part-") != std::string::npos) partial_seen = true;
    if (!partial_seen) g_usleep(10 * 1000);
  }
  EXPECT_TRUE(partial_seen);
  g_subprocess_send_signal(process, SIGINT);
  const ProgramRun fetch = finish(process);
  EXPECT_EQ(fetch.exit_status, 130) << fetch.err;
  EXPECT_TRUE(contains(fetch.err, "interrupted; nothing partial was left in " + cache_folder_));
  EXPECT_TRUE(cache_content().empty());
}

TEST_F(DemucsVocalsCommandTest, FetchOfAnUnknownModelListsTheKnownOnes) {
  const ProgramRun fetch = run({"fetch", "htdemucs", "mdx_extra"});
  EXPECT_EQ(fetch.exit_status, 1);
  EXPECT_TRUE(contains(fetch.err, "unknown model \"mdx_extra\"; the known models are "
                                  "htdemucs, htdemucs_ft, htdemucs_6s"));
  EXPECT_TRUE(server_.requested_paths().empty()) << "names are checked before any download";

  const ProgramRun nothing = run({"fetch"});
  EXPECT_EQ(nothing.exit_status, 2);
  EXPECT_TRUE(contains(nothing.err, "name the models to fetch"));
}

TEST_F(DemucsVocalsCommandTest, ModelsListsWhatTheCacheHolds) {
  g_mkdir_with_parents(cache_folder_.c_str(), 0755);
  g_file_set_contents((cache_folder_ + "/" + kHtdemucsFile).c_str(), kFakeHtdemucsCheckpoint, -1,
                      nullptr);
  g_file_set_contents((cache_folder_ + "/5c90dfd2-34c22ccb.th").c_str(), "damaged", -1, nullptr);

  const ProgramRun models = run({"models"});
  EXPECT_EQ(models.exit_status, 0) << models.err;
  EXPECT_TRUE(contains(models.out, "Model cache: " + cache_folder_));
  EXPECT_TRUE(contains(models.out, "htdemucs     cached "));
  EXPECT_TRUE(contains(models.out, "htdemucs_ft  not cached "));
  EXPECT_TRUE(contains(models.out, "htdemucs_6s  not cached, 1 damaged "));
  EXPECT_TRUE(contains(models.out, "sources: drums bass other vocals guitar piano"));
}

TEST_F(DemucsVocalsCommandTest, HelpListsTheCommands) {
  const ProgramRun help = run({"--help"});
  EXPECT_EQ(help.exit_status, 0);
  EXPECT_TRUE(contains(help.out, "Usage: demucs-vocals COMMAND"));
  EXPECT_TRUE(contains(help.out, "  fetch MODEL...     download models into the model cache"));
  EXPECT_TRUE(contains(help.out, "  models             list the known models"));
  EXPECT_TRUE(contains(help.out, "DEMUCS_VOCALS_MODEL_URL"));

  const ProgramRun fetch_help = run({"fetch", "--help"});
  EXPECT_EQ(fetch_help.exit_status, 0);
  EXPECT_TRUE(contains(fetch_help.out, "demucs-vocals fetch"));
  EXPECT_TRUE(contains(fetch_help.out,
                       "Known models: htdemucs, htdemucs_ft, htdemucs_6s, bs_roformer_317, mel_roformer_kj, "
                       "mel_roformer_3005, bs_roformer_937."));
  EXPECT_TRUE(contains(fetch_help.out, "into the cache folder " + cache_folder_));

  const ProgramRun unknown = run({"separate-everything"});
  EXPECT_EQ(unknown.exit_status, 2);
  EXPECT_TRUE(contains(unknown.err, "unknown command \"separate-everything\""));

  const ProgramRun none = run({});
  EXPECT_EQ(none.exit_status, 2);
  EXPECT_TRUE(contains(none.err, "Usage: demucs-vocals COMMAND"));
}

}  // namespace
}  // namespace demucs
