// The job workers of the real demucs-vocalsd, from outside: a stem=all job
// whose archive passes the old one-stem file limit, and a worker that tries
// what its sandbox (daemon/worker/worker_sandbox.h) forbids: other jobs'
// files, the data folder, a file elsewhere, the daemon's environment and
// signals, TCP; and what it inherits of the daemon's secrets.
#include "daemon_process.h"
#include "http_client.h"

#include "support/scratch_directory.h"
#include "support/test_data.h"
#include "support/text_assertions.h"
#include "support/wav_file.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>
#include <linux/landlock.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif

namespace demucs::testing {
namespace {

constexpr double kJobSeconds = 180;

int landlock_abi() {
  const long abi = syscall(__NR_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi > 0 ? static_cast<int>(abi) : 0;
}

class DaemonWorkerTest : public ::testing::Test {
 protected:
  std::string data_dir() const { return scratch_.file("data"); }

  static std::string upload_as(const DaemonProcess &daemon, const std::string &path, const std::string &name,
                               const std::map<std::string, std::string> &fields = {}) {
    const HttpResponse reply = upload_file(daemon.url(), path, name, fields);
    EXPECT_EQ(reply.status, 200u) << name << ": " << reply.body << reply.transport_error;
    return reply.json_string("job_id");
  }
  static HttpResponse status_of(const DaemonProcess &daemon, const std::string &id) {
    return http_get(daemon.url("status/" + id));
  }
  static bool wait_for_status(const DaemonProcess &daemon, const std::string &id, const std::string &status) {
    return wait_until([&] { return status_of(daemon, id).json_string("status") == status; }, kJobSeconds);
  }

  // A daemon whose workers fault on request, with secrets in its
  // environment that its workers must not get.
  DaemonLaunch faulting_launch() const {
    DaemonLaunch launch;
    launch.environment = {{"DEMUCS_VOCALSD_TEST_WORKER_FAULT", "1"},
                          {"DEMUCS_TEST_TRESPASS_FILE", scratch_.file("elsewhere.txt")},
                          {"PGPASSWORD", "hunter2"},
                          {"PGAPPNAME", "demucs-test"},
                          {"DATABASE_URL", "postgresql://demucs:hunter2@db.invalid/demucs"}};
    return launch;
  }

  // What the "trespass" worker reported (its job's error message).
  std::string trespass_report(const DaemonProcess &daemon) {
    const std::string id = upload_as(daemon, test_data("mix.wav"), "trespass.wav");
    EXPECT_TRUE(wait_for_status(daemon, id, "error")) << status_of(daemon, id).body;
    return status_of(daemon, id).json_string("error_message");
  }

  ScratchDirectory scratch_;
};

// 48 s of audio, every stem of the tiny model (5) in WAV: the archive is
// 5 x 48 s x 352.8 kB/s = 85 MB, past the 64 MiB that one stem's limit
// gave for --max-duration 1 (the floor; 25 MB for one minute of one stem).
TEST_F(DaemonWorkerTest, AllStemsOfALongFileFitTheirFileSizeLimit) {
  DaemonProcess daemon(data_dir(), {"--max-duration", "1"});
  const std::string long_mix =
      write_repeated_wav(test_data("mix.wav"), 8, scratch_.file("long-mix.wav"));
  const std::string id = upload_as(daemon, long_mix, "long.wav", {{"stem", "all"}});
  ASSERT_TRUE(wait_for_status(daemon, id, "completed")) << status_of(daemon, id).body;
  const HttpResponse zip = http_get(daemon.url("download/" + id));
  ASSERT_EQ(zip.status, 200u);
  EXPECT_GT(zip.body.size(), 64u << 20) << "the old limit";
  EXPECT_EQ(zip.body.substr(zip.body.size() - 22, 4), std::string("PK\x05\x06", 4));
  EXPECT_EQ(static_cast<unsigned char>(zip.body[zip.body.size() - 22 + 10]), 5u) << "entries";
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(DaemonWorkerTest, WorkersGetNoSecretsOfTheDaemon) {
  DaemonProcess daemon(data_dir(), {}, faulting_launch());
  const std::string report = trespass_report(daemon);
  EXPECT_TRUE(g_str_has_suffix(report.c_str(), "| secrets none")) << report;
  EXPECT_EQ(daemon.stop(), 0);
}

// With Landlock, each attempt is refused but its own folder; a job done
// before keeps its files, and nothing appears anywhere.
TEST_F(DaemonWorkerTest, AWorkerCannotReachOtherJobsTheDataFolderOrTheDaemon) {
  const int abi = landlock_abi();
  if (abi == 0) GTEST_SKIP() << "this kernel has no Landlock (or it is not enabled): workers are not sandboxed";
  write_file_bytes(scratch_.file("elsewhere.txt"), "private");
  DaemonProcess daemon(data_dir(), {}, faulting_launch());
  const std::string done = upload_as(daemon, test_data("mix.wav"), "mix.wav");
  ASSERT_TRUE(wait_for_status(daemon, done, "completed")) << status_of(daemon, done).body;
  const std::string result = read_file_bytes(data_dir() + "/jobs/" + done + "/attempt-1/output.wav");

  const std::string report = trespass_report(daemon);
  EXPECT_EQ(report, std::string("trespass: other jobs EACCES | file elsewhere EACCES | write in data folder EACCES") +
                        " | daemon environ EACCES | tcp " + (abi >= 4 ? "EACCES" : "allowed") +
                        " | signal daemon " + (abi >= 6 ? "EPERM" : "allowed") +
                        " | own folder allowed | secrets none");
  EXPECT_FALSE(g_file_test((data_dir() + "/jobs/" + done + "/trespass.txt").c_str(), G_FILE_TEST_EXISTS));
  EXPECT_FALSE(g_file_test((data_dir() + "/trespass.txt").c_str(), G_FILE_TEST_EXISTS));
  EXPECT_EQ(read_file_bytes(data_dir() + "/jobs/" + done + "/attempt-1/output.wav"), result);
  EXPECT_EQ(http_get(daemon.url("download/" + done)).body, result);
  // The sandbox lets real jobs run: another one after it completes.
  const std::string again = upload_as(daemon, test_data("mix.wav"), "mix.wav", {{"stem", "all"}});
  EXPECT_TRUE(wait_for_status(daemon, again, "completed")) << status_of(daemon, again).body;
  EXPECT_FALSE(contains(daemon.log(), "not confined")) << daemon.log();
  EXPECT_EQ(daemon.stop(), 0);
}

}  // namespace
}  // namespace demucs::testing
