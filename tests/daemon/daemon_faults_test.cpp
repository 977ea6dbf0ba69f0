// demucs-vocalsd when things go wrong: workers that crash, hang or eat
// memory, files that lie about their length or would decode for hours, full
// disks, a second daemon on the same folder, expiry, SIGTERM with work in
// progress, cancelling a running job. Each with the real program on a free
// loopback port; the disk tests mount a small tmpfs (they need root, as CI
// and the development machines have; without it they are skipped, saying so).
#include "daemon_process.h"
#include "http_client.h"
#include "launch_to_eos.h"

#include "support/folder_listing.h"
#include "support/scratch_directory.h"
#include "support/test_data.h"
#include "support/text_assertions.h"
#include "support/wav_file.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gunixsocketaddress.h>
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <csignal>
#include <fstream>
#include <string>
#include <vector>

namespace demucs::testing {
namespace {

constexpr double kJobSeconds = 120;

// A FLAC file of `seconds` of noise whose STREAMINFO claims `claimed_seconds`:
// GStreamer's discoverer believes the claim, the decoder decodes every frame.
std::string lying_flac(const std::string &path, int seconds, double claimed_seconds) {
  run_launch("audiotestsrc wave=pink-noise volume=0.3 num-buffers=" + std::to_string(seconds) +
             " samplesperbuffer=44100 ! audio/x-raw,rate=44100,channels=2 ! audioconvert ! flacenc ! filesink "
             "location=" +
             path);
  std::string bytes = read_file_bytes(path);
  // "fLaC", a 4-byte block header, then STREAMINFO: the 36-bit total sample
  // count is the low bits of the 8 bytes at offset 18.
  EXPECT_EQ(bytes.compare(0, 4, "fLaC"), 0);
  std::uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(bytes[18 + i]);
  const std::uint64_t mask = (std::uint64_t{1} << 36) - 1;
  bits = (bits & ~mask) | (static_cast<std::uint64_t>(claimed_seconds * 44100) & mask);
  for (int i = 7; i >= 0; --i, bits >>= 8) bytes[18 + i] = static_cast<char>(bits & 0xff);
  write_file_bytes(path, bytes);
  return path;
}

// A tmpfs of `megabytes` mounted at `folder` for the test's life (root only).
class SmallDisk {
 public:
  SmallDisk(const std::string &folder, int megabytes) : folder_(folder) {
    g_mkdir_with_parents(folder.c_str(), 0700);
    const std::string options = "size=" + std::to_string(megabytes) + "m,mode=0700";
    mounted_ = mount("tmpfs", folder.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) umount2(folder_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string folder_;
  bool mounted_ = false;
};

class DaemonFaultsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }

  std::string data_dir() const { return scratch_.file("data"); }

  static bool model_ready(const DaemonProcess &daemon) {
    return wait_until([&] { return contains(http_get(daemon.url("health")).body, "\"model_loaded\":true"); }, 60);
  }

  static std::string upload_as(const DaemonProcess &daemon, const std::string &path, const std::string &name) {
    const HttpResponse reply = upload_file(daemon.url(), path, name);
    EXPECT_EQ(reply.status, 200u) << name << ": " << reply.body << reply.transport_error;
    return reply.json_string("job_id");
  }

  static HttpResponse status_of(const DaemonProcess &daemon, const std::string &id) {
    return http_get(daemon.url("status/" + id));
  }

  static bool wait_for_status(const DaemonProcess &daemon, const std::string &id, const std::string &status,
                              double seconds = kJobSeconds) {
    return wait_until([&] { return status_of(daemon, id).json_string("status") == status; }, seconds);
  }

  // A WAV of the fixture mix repeated `times` times (a longer job).
  std::string long_mix(int times) const {
    return write_repeated_wav(test_data("mix.wav"), times, scratch_.file("long-mix-" + std::to_string(times) + ".wav"));
  }


  ScratchDirectory scratch_;
};

// --- Workers -------------------------------------------------------------------

TEST_F(DaemonFaultsTest, WorkersThatCrashHangOrEatMemoryEndOnlyTheirOwnJob) {
  DaemonLaunch launch;
  launch.environment.push_back({"DEMUCS_VOCALSD_TEST_WORKER_FAULT", "1"});
  DaemonProcess daemon(data_dir(), {"--max-jobs", "5", "--stall-timeout", "5", "--worker-memory-mb", "1536"}, launch);
  ASSERT_TRUE(model_ready(daemon));
  const long daemon_memory_before = daemon.peak_rss_kib();
  const std::string crash = upload_as(daemon, test_data("mix.wav"), "crash.wav");
  const std::string hang = upload_as(daemon, test_data("mix.wav"), "hang.wav");
  const std::string allocate = upload_as(daemon, test_data("mix.wav"), "allocate.wav");
  const std::string flood = upload_as(daemon, test_data("mix.wav"), "flood.wav");
  const std::string normal = upload_as(daemon, test_data("mix.wav"), "mix.wav");

  EXPECT_TRUE(wait_for_status(daemon, normal, "completed")) << status_of(daemon, normal).body;
  for (const auto &[id, words] : std::vector<std::pair<std::string, std::string>>{
           {crash, "crashed"},
           {hang, "no progress for 5 s"},
           {allocate, "ran out of memory"},
           {flood, "a report that could not be read"}}) {
    ASSERT_TRUE(wait_for_status(daemon, id, "error", 60)) << status_of(daemon, id).body;
    EXPECT_TRUE(contains(status_of(daemon, id).json_string("error_message"), words));
  }
  EXPECT_EQ(http_get(daemon.url("health")).status, 200u);
  EXPECT_EQ(http_get(daemon.url("download/" + normal)).status, 200u);
  // The flood cost the daemon nothing to speak of.
  EXPECT_LT(daemon.peak_rss_kib() - daemon_memory_before, 20 * 1024);
  for (const std::string &file : files_below(data_dir() + "/jobs")) EXPECT_FALSE(g_str_has_suffix(file.c_str(), ".partial")) << file;
  // A fault is only for those names, and only with the test switch.
  DaemonProcess plain(scratch_.file("plain"));
  ASSERT_TRUE(model_ready(plain));
  const std::string named_crash = upload_as(plain, test_data("mix.wav"), "crash.wav");
  EXPECT_TRUE(wait_for_status(plain, named_crash, "completed"));
}

TEST_F(DaemonFaultsTest, AJobPastItsTimeLimitIsStopped) {
  DaemonProcess daemon(data_dir(), {"--job-timeout", "2"});
  ASSERT_TRUE(model_ready(daemon));
  const std::string id = upload_as(daemon, long_mix(20), "long.wav");
  ASSERT_TRUE(wait_for_status(daemon, id, "error", 30));
  EXPECT_TRUE(contains(status_of(daemon, id).json_string("error_message"), "longer than the time limit of 2 s"));
}

TEST_F(DaemonFaultsTest, DeletingARunningJobAnswersAtOnceAndEndsItsWorker) {
  DaemonProcess daemon(data_dir());
  ASSERT_TRUE(model_ready(daemon));
  const std::string id = upload_as(daemon, long_mix(20), "long.wav");
  ASSERT_TRUE(wait_until([&] { return status_of(daemon, id).json_number("progress") > 0; }, 60));
  const gint64 start = g_get_monotonic_time();
  EXPECT_EQ(http_delete(daemon.url("jobs/" + id)).status, 200u);
  const double milliseconds = (g_get_monotonic_time() - start) / 1000.0;
  EXPECT_LT(milliseconds, 100.0);
  // No worker of that job is left (a worker's command line names its input).
  const std::string input = data_dir() + "/jobs/" + id;
  EXPECT_TRUE(wait_until(
      [&] {
        gchar *out = nullptr;
        g_spawn_command_line_sync(("pgrep -f " + input).c_str(), &out, nullptr, nullptr, nullptr);
        const bool none = out == nullptr || *out == '\0';
        g_free(out);
        return none;
      },
      5));
  // Its folder is removed off the main loop: gone soon, not at once.
  EXPECT_TRUE(wait_until([&] { return !g_file_test(input.c_str(), G_FILE_TEST_EXISTS); }, 10));
  const std::string next = upload_as(daemon, test_data("mix.wav"), "mix.wav");
  EXPECT_TRUE(wait_for_status(daemon, next, "completed"));
}

// --- Lengths -------------------------------------------------------------------

TEST_F(DaemonFaultsTest, AFileThatClaimsHoursIsRefusedByMaxDuration) {
  DaemonProcess daemon(data_dir());
  ASSERT_TRUE(model_ready(daemon));
  // 10 s of audio that says it lasts 2 hours: a few hundred KB.
  const std::string bomb = lying_flac(scratch_.file("bomb.flac"), 10, 2 * 3600);
  const HttpResponse reply = upload_file(daemon.url(), bomb, "bomb.flac");
  EXPECT_EQ(reply.status, 413u) << reply.body;
  EXPECT_TRUE(contains(reply.json_string("error"), "120.0 minutes long; this server takes at most 30 minutes"));
  EXPECT_TRUE(files_below(data_dir() + "/jobs").empty());
}

TEST_F(DaemonFaultsTest, AFileThatHidesItsLengthIsStoppedAtTheLimit) {
  DaemonProcess daemon(data_dir(), {"--max-duration", "0.25"});  // 15 s
  ASSERT_TRUE(model_ready(daemon));
  // 40 s of audio that says 5 s: accepted, then stopped while decoding.
  const std::string liar = lying_flac(scratch_.file("liar.flac"), 40, 5);
  const std::string id = upload_as(daemon, liar, "liar.flac");
  ASSERT_TRUE(wait_for_status(daemon, id, "error")) << status_of(daemon, id).body;
  EXPECT_TRUE(contains(status_of(daemon, id).json_string("error_message"), "longer than the limit of 0.25 minutes"));
  EXPECT_FALSE(g_file_test((data_dir() + "/jobs/" + id + "/attempt-1/output.wav.partial").c_str(), G_FILE_TEST_EXISTS));
}

// --- Disks -----------------------------------------------------------------------

TEST_F(DaemonFaultsTest, AFullDiskDuringAnUploadEndsItCleanly) {
  SmallDisk disk(data_dir(), 3);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  DaemonProcess daemon(data_dir(), {"--min-free-mb", "0"});
  ASSERT_TRUE(model_ready(daemon));
  MultipartBody body;
  body.file("file", "big.wav", read_file_bytes(test_data("mix.wav")) + std::string(4 << 20, '\0'));
  // Announced as 5 MB: refused by the budget before a byte is written...
  const HttpResponse refused = upload(daemon.url(), body);
  EXPECT_EQ(refused.status, 507u) << refused.body << refused.transport_error;
  EXPECT_TRUE(contains(refused.json_string("error"), "disk full"));
  // ...and sent without a length (chunked), it fills the disk: refused too.
  const HttpResponse chunked = http_post(daemon.url("upload"), body.content_type(), body.bytes(),
                                         {{"Transfer-Encoding", "chunked"}});
  EXPECT_TRUE(chunked.status == 507u || chunked.status == 0u) << chunked.status << " " << chunked.body;
  EXPECT_TRUE(wait_until([&] { return files_below(data_dir() + "/jobs").empty(); }, 5))
      << files_below(data_dir() + "/jobs").front();
  EXPECT_EQ(http_get(daemon.url("health")).status, 200u);
  const std::string id = upload_as(daemon, test_data("mix.wav"), "mix.wav");  // 1 MB still fits
  EXPECT_FALSE(id.empty());
}

TEST_F(DaemonFaultsTest, AFullDiskWhileWritingTheResultEndsTheJobCleanly) {
  SmallDisk disk(data_dir(), 2);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  DaemonProcess daemon(data_dir(), {"--min-free-mb", "0"});
  ASSERT_TRUE(model_ready(daemon));
  // The 1 MB input fits; its 2 MB float result does not.
  const std::string id = upload_as(daemon, test_data("mix.wav"), "mix.wav");
  ASSERT_TRUE(wait_for_status(daemon, id, "error")) << status_of(daemon, id).body;
  EXPECT_TRUE(contains(status_of(daemon, id).json_string("error_message"), "disk full"));
  for (const std::string &file : files_below(data_dir() + "/jobs")) EXPECT_FALSE(g_str_has_suffix(file.c_str(), ".partial")) << file;
  EXPECT_EQ(http_get(daemon.url("health")).status, 200u);
  EXPECT_EQ(http_delete(daemon.url("jobs/" + id)).status, 200u);
}

TEST_F(DaemonFaultsTest, UploadsAreRefusedBelowTheFreeSpaceKept) {
  SmallDisk disk(data_dir(), 16);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  {
    DaemonProcess daemon(data_dir(), {"--min-free-mb", "15"});
    ASSERT_TRUE(model_ready(daemon));
    const HttpResponse reply = upload_file(daemon.url(), test_data("mix.wav"), "mix.wav");
    EXPECT_EQ(reply.status, 507u) << reply.body;
    EXPECT_TRUE(contains(reply.json_string("error"), "keeps 15 MB free"));
  }
  DaemonProcess daemon(data_dir(), {"--min-free-mb", "10"});
  ASSERT_TRUE(model_ready(daemon));
  EXPECT_FALSE(upload_as(daemon, test_data("mix.wav"), "mix.wav").empty());
}

TEST_F(DaemonFaultsTest, ARestartWithAJobInProgressOnAFullDiskServes) {
  if (testing_with_postgresql()) GTEST_SKIP() << "SQLite only: with PostgreSQL the store is not on the full disk, and a killed node's job waits for its lease (daemon_nodes tests that)";
  SmallDisk disk(data_dir(), 12);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  std::string id;
  {
    DaemonProcess daemon(data_dir(), {"--min-free-mb", "0"});
    ASSERT_TRUE(model_ready(daemon));
    id = upload_as(daemon, long_mix(2), "long.wav");  // 2 MB in, 4 MB out: room for both
    ASSERT_TRUE(wait_for_status(daemon, id, "processing", 60));
    kill(std::stoi(daemon.pid()), SIGKILL);  // a crash or a power cut: no goodbye
    daemon.stop(10);
  }
  // Fill what is left of the disk.
  std::string filler(1 << 20, 'x');
  std::ofstream fill(data_dir() + "/filler", std::ios::binary);
  for (int i = 0; i < 64 && fill.write(filler.data(), static_cast<std::streamsize>(filler.size())); ++i) fill.flush();
  fill.close();

  DaemonProcess daemon(data_dir(), {"--min-free-mb", "0"});
  ASSERT_FALSE(daemon.url().empty()) << daemon.log();
  EXPECT_EQ(http_get(daemon.url("health")).status, 200u);
  // The store cannot be written: the interrupted job waits, and says so.
  ASSERT_TRUE(wait_until([&] { return contains(daemon.log(), "cannot be queued again yet"); }, 10)) << daemon.log();
  EXPECT_EQ(status_of(daemon, id).json_string("status"), "pending");
  // Space comes back: the job runs again and completes, without a restart.
  g_remove((data_dir() + "/filler").c_str());
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string status = status_of(daemon, id).json_string("status");
        return status == "completed" || status == "error";
      },
      kJobSeconds));
  EXPECT_EQ(status_of(daemon, id).json_string("status"), "completed") << status_of(daemon, id).body;
  EXPECT_EQ(http_get(daemon.url("health")).status, 200u);
}

// --- The store, the folder, the end -------------------------------------------------

TEST_F(DaemonFaultsTest, FinishedJobsExpireCountedFromWhenTheyFinished) {
  DaemonProcess daemon(data_dir(), {"--job-ttl", "3", "--cleanup-interval", "1"});
  ASSERT_TRUE(model_ready(daemon));
  // The second job waits behind the first: created long before it finishes.
  const std::string first = upload_as(daemon, long_mix(4), "first.wav");
  const std::string second = upload_as(daemon, test_data("mix.wav"), "second.wav");
  ASSERT_TRUE(wait_for_status(daemon, second, "completed"));
  const HttpResponse status = status_of(daemon, second);
  ASSERT_EQ(status.status, 200u);
  EXPECT_FALSE(status.json_string("finished_at").empty());
  // Created more than the TTL ago, but only just finished: still there.
  g_usleep(G_USEC_PER_SEC * 3 / 2);
  EXPECT_EQ(http_get(daemon.url("download/" + second)).status, 200u);
  EXPECT_TRUE(wait_until([&] { return status_of(daemon, second).status == 404u; }, 10));
  EXPECT_TRUE(contains(daemon.log(), "job " + second + ": expired and removed (finished more than 3 s ago)"));
  (void)first;
}

TEST_F(DaemonFaultsTest, ASecondDaemonOnTheSameFolderRefusesToStart) {
  if (testing_with_postgresql()) GTEST_SKIP() << "SQLite only: with PostgreSQL several daemons share a data folder";
  DaemonProcess first(data_dir());
  ASSERT_FALSE(first.url().empty());
  const ProgramExit second = run_daemon_to_exit({"--port", "0", "--data-dir", data_dir()});
  EXPECT_EQ(second.exit_status, 78);
  EXPECT_TRUE(
      contains(second.error_output, "another demucs-vocalsd (process " + first.pid() + ") is using the data folder"));
  EXPECT_EQ(http_get(first.url("health")).status, 200u);
}

TEST_F(DaemonFaultsTest, ADamagedDatabaseStopsTheDaemonOnceSayingWhatToDo) {
  if (testing_with_postgresql()) GTEST_SKIP() << "SQLite only: the damaged database is an SQLite file";
  g_mkdir_with_parents(data_dir().c_str(), 0700);
  write_file_bytes(data_dir() + "/jobs.sqlite3", std::string(8192, '\x5a'));  // not a database
  const ProgramExit stopped = run_daemon_to_exit({"--port", "0", "--data-dir", data_dir()});
  // 78: the unit file tells systemd not to restart it (no crash loop).
  EXPECT_EQ(stopped.exit_status, 78);
  EXPECT_TRUE(contains(stopped.error_output, "jobs.sqlite3"));
  EXPECT_TRUE(contains(stopped.error_output, "Move the damaged database aside"));
}

TEST_F(DaemonFaultsTest, SystemdHearsReadyAndStopping) {
  // A socket where systemd would listen (Type=notify).
  const std::string path = scratch_.file("notify.socket");
  GError *error = nullptr;
  GSocket *socket = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  ASSERT_NE(socket, nullptr);
  GSocketAddress *address = g_unix_socket_address_new(path.c_str());
  ASSERT_TRUE(g_socket_bind(socket, address, TRUE, &error)) << error->message;
  g_object_unref(address);
  g_socket_set_timeout(socket, 30);
  auto receive = [&] {
    char buffer[256];
    const gssize got = g_socket_receive(socket, buffer, sizeof buffer, nullptr, nullptr);
    return got > 0 ? std::string(buffer, static_cast<std::size_t>(got)) : std::string();
  };
  DaemonLaunch launch;
  launch.environment.push_back({"NOTIFY_SOCKET", path});
  DaemonProcess daemon(data_dir(), {}, launch);
  EXPECT_EQ(receive(), "READY=1");
  EXPECT_EQ(http_get(daemon.url("health")).status, 200u);  // ready means serving
  kill(std::stoi(daemon.pid()), SIGTERM);
  EXPECT_EQ(receive(), "STOPPING=1");
  EXPECT_EQ(daemon.wait_for_exit(30), 0);
  g_object_unref(socket);
}

TEST_F(DaemonFaultsTest, RemovingAJobNeverFollowsALinkOutOfItsFolder) {
  DaemonProcess daemon(data_dir());
  ASSERT_TRUE(model_ready(daemon));
  const std::string id = upload_as(daemon, test_data("mix.wav"), "mix.wav");
  ASSERT_TRUE(wait_for_status(daemon, id, "completed"));
  // Someone with access to the folder swapped the job's folder for a link.
  const std::string outside = scratch_.file("precious");
  g_mkdir_with_parents(outside.c_str(), 0700);
  write_file_bytes(outside + "/keep.txt", "keep me");
  const std::string job_folder = data_dir() + "/jobs/" + id;
  for (const std::string &file : files_below(job_folder)) g_remove(file.c_str());
  g_rmdir((job_folder + "/attempt-1").c_str());  // the folder its attempt wrote in
  ASSERT_EQ(g_rmdir(job_folder.c_str()), 0);
  ASSERT_EQ(symlink(outside.c_str(), job_folder.c_str()), 0);
  EXPECT_EQ(http_delete(daemon.url("jobs/" + id)).status, 200u);
  // Removed in the background (folder_removal.h): once it is gone, the target is whole.
  EXPECT_TRUE(wait_until([&] { return !g_file_test(job_folder.c_str(), G_FILE_TEST_EXISTS); }, 10));
  EXPECT_EQ(read_file_bytes(outside + "/keep.txt"), "keep me");
}

TEST_F(DaemonFaultsTest, SigtermLetsARunningJobFinishWithinTheGrace) {
  std::string id;
  {
    DaemonProcess daemon(data_dir(), {"--shutdown-grace", "60"});
    ASSERT_TRUE(model_ready(daemon));
    id = upload_as(daemon, long_mix(3), "long.wav");
    ASSERT_TRUE(wait_for_status(daemon, id, "processing", 60));
    const int port = daemon.port();
    kill(std::stoi(daemon.pid()), SIGTERM);
    // It stops taking connections at once...
    EXPECT_TRUE(wait_until([&] { return http_get("http://127.0.0.1:" + std::to_string(port) + "/health").status == 0u; }, 5));
    // ...and ends once the job is done.
    EXPECT_EQ(daemon.wait_for_exit(kJobSeconds), 0);
    EXPECT_TRUE(contains(daemon.log(), "job " + id + ": completed")) << daemon.log();
  }
  DaemonProcess again(data_dir());
  EXPECT_EQ(status_of(again, id).json_string("status"), "completed");
}

TEST_F(DaemonFaultsTest, SigtermPastTheGraceRequeuesTheJob) {
  std::string id;
  {
    DaemonProcess daemon(data_dir(), {"--shutdown-grace", "1"});
    ASSERT_TRUE(model_ready(daemon));
    id = upload_as(daemon, long_mix(20), "long.wav");
    ASSERT_TRUE(wait_for_status(daemon, id, "processing", 60));
    const gint64 start = g_get_monotonic_time();
    EXPECT_EQ(daemon.stop(30), 0);
    EXPECT_LT(g_get_monotonic_time() - start, 10 * G_USEC_PER_SEC);
    EXPECT_TRUE(contains(daemon.log(), "job " + id + ": stopped by shutdown; queued again"));
  }
  DaemonProcess again(data_dir());
  ASSERT_TRUE(model_ready(again));
  EXPECT_TRUE(wait_for_status(again, id, "processing", 30)) << status_of(again, id).body;
  http_delete(again.url("jobs/" + id));
}

// --- Stopping a job from inside its own progress report, capped attempts -------------

TEST_F(DaemonFaultsTest, TheFreeSpaceGuardStoppingAJobMidWayEndsItInDiskFullAndTheDaemonGoesOn) {
  SmallDisk disk(data_dir(), 32);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  const std::string input = long_mix(4);  // 4 MB in, 8 MB of float result: all fit on the disk
  const std::int64_t input_mb = static_cast<std::int64_t>(read_file_bytes(input).size() >> 20) + 1;
  struct statvfs info {};
  ASSERT_EQ(statvfs(data_dir().c_str(), &info), 0);
  const std::int64_t free_mb = static_cast<std::int64_t>(info.f_bavail) * info.f_frsize >> 20;
  // Just below what is left once the two uploads are stored: the guard, not
  // the disk, stops each job when its result has grown by a few MB, from
  // inside the worker's progress report (a use after free until it copied
  // the job's id before killing the worker).
  const std::int64_t min_free_mb = free_mb - 2 * input_mb - 3;
  DaemonProcess daemon(data_dir(), {"--min-free-mb", std::to_string(min_free_mb)});
  ASSERT_TRUE(model_ready(daemon));
  const std::string first = upload_as(daemon, input, "first.wav");
  const std::string second = upload_as(daemon, input, "second.wav");
  ASSERT_FALSE(first.empty() || second.empty());
  for (const std::string &id : {first, second}) {
    ASSERT_TRUE(wait_for_status(daemon, id, "error")) << status_of(daemon, id).body << daemon.log();
    EXPECT_TRUE(contains(status_of(daemon, id).json_string("error_message"), "disk full"))
        << status_of(daemon, id).body;
    // Its upload stays until the job expires; its half-written result went.
    EXPECT_FALSE(files_below(data_dir() + "/jobs/" + id).empty()) << id;
  }
  for (const std::string &file : files_below(data_dir() + "/jobs"))
    EXPECT_FALSE(g_str_has_suffix(file.c_str(), ".partial")) << file;
  EXPECT_FALSE(daemon.pid().empty()) << "the daemon died; its log:\n" << daemon.log();
  EXPECT_EQ(http_get(daemon.url("health")).status, 200u);
  EXPECT_EQ(http_delete(daemon.url("jobs/" + first)).status, 200u);
  const std::string first_folder = data_dir() + "/jobs/" + first;  // removed in the background
  EXPECT_TRUE(wait_until([&] { return !g_file_test(first_folder.c_str(), G_FILE_TEST_EXISTS); }, 10));
  EXPECT_FALSE(files_below(data_dir() + "/jobs/" + second).empty());
}

TEST_F(DaemonFaultsTest, AJobWhoseEveryRunIsCutShortEndsAfterMaxAttempts) {
  // A file that takes its node down each time (here: the node is killed
  // while the job runs) must not go round the queue forever.
  const std::vector<std::string> options = {"--max-attempts", "2", "--job-lease", "3"};
  const std::string input = long_mix(20);
  std::string id;
  for (int run = 1; run <= 2; ++run) {
    DaemonProcess daemon(data_dir(), options);
    ASSERT_TRUE(model_ready(daemon));
    if (id.empty()) id = upload_as(daemon, input, "poison.wav");
    ASSERT_TRUE(wait_until([&] { return contains(daemon.log(), "job " + id + ": processing on node"); }, 60))
        << daemon.log();
    daemon.kill();
  }
  DaemonProcess daemon(data_dir(), options);
  ASSERT_TRUE(wait_for_status(daemon, id, "error", 60)) << status_of(daemon, id).body << daemon.log();
  EXPECT_TRUE(contains(status_of(daemon, id).json_string("error_message"),
                       "started 2 times and each run was interrupted"))
      << status_of(daemon, id).body;
  EXPECT_FALSE(contains(daemon.log(), "job " + id + ": processing on node")) << daemon.log();
}

}  // namespace
}  // namespace demucs::testing
