// demucs-vocalsd end to end: the real program on a free loopback port with
// the tiny test model, driven over HTTP as a client would.
#include "daemon_process.h"
#include "http_client.h"
#include "launch_to_eos.h"
#include "raw_connection.h"

#include "../pipeline/decoded_audio.h"
#include "support/folder_listing.h"
#include "support/npy_file.h"
#include "support/scratch_directory.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/text_assertions.h"
#include "support/wav_file.h"

#include <ATen/ATen.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace demucs::testing {
namespace {

constexpr int kVocalsRow = 1;  // tiny-4s.apply.drums-vocals.npy holds [drums, vocals]
constexpr double kJobSeconds = 120;  // the longest a tiny-model job may take here

bool exists(const std::string &path) { return g_file_test(path.c_str(), G_FILE_TEST_EXISTS); }

class DaemonApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }

  std::string data_dir() const { return scratch_.file("data"); }

  // Uploads the fixture mix; returns the job id (and checks the reply).
  std::string upload_mix(const DaemonProcess &daemon, const std::map<std::string, std::string> &fields = {},
                         const std::string &path = test_data("mix.wav"), const std::string &name = "mix.wav") {
    const HttpResponse reply = upload_file(daemon.url(), path, name, fields);
    EXPECT_EQ(reply.status, 200u) << reply.body << reply.transport_error;
    EXPECT_EQ(reply.json_string("status"), "pending") << reply.body;
    const std::string id = reply.json_string("job_id");
    EXPECT_TRUE(g_uuid_string_is_valid(id.c_str())) << id;
    return id;
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
    return write_repeated_wav(test_data("mix.wav"), times, scratch_.file("long-mix.wav"));
  }


  static at::Tensor upstream_vocals() { return read_npy(test_data("tiny-4s.apply.drums-vocals.npy"))[kVocalsRow]; }

  ScratchDirectory scratch_;
};

TEST_F(DaemonApiTest, UploadFollowDownloadMatchesUpstream) {
  DaemonProcess daemon(data_dir());
  ASSERT_FALSE(daemon.url().empty());
  const std::string id = upload_mix(daemon);

  // The event stream: status events, progress never decreasing, ending at completed.
  std::vector<double> progress;
  std::vector<std::string> states;
  const std::vector<ServerSentEvent> events =
      read_event_stream(daemon.url("events/" + id), kJobSeconds, [&](const ServerSentEvent &event) {
        HttpResponse as_json;
        as_json.body = event.data;
        EXPECT_EQ(event.event, "status");
        EXPECT_EQ(as_json.json_string("job_id"), id);
        progress.push_back(as_json.json_number("progress"));
        states.push_back(as_json.json_string("status"));
      });
  ASSERT_FALSE(states.empty());
  EXPECT_EQ(states.back(), "completed");
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  EXPECT_EQ(progress.back(), 100.0);
  EXPECT_GE(std::set<double>(progress.begin(), progress.end()).size(), 3u) << "progress came in one step";

  const HttpResponse status = status_of(daemon, id);
  EXPECT_EQ(status.status, 200u);
  EXPECT_EQ(status.json_string("filename"), "mix.wav");
  EXPECT_EQ(status.json_string("status"), "completed");
  EXPECT_EQ(status.json_number("progress"), 100.0);
  EXPECT_TRUE(status.json_is_null("error_message"));
  EXPECT_FALSE(status.json_has("queue_position"));
  GDateTime *created = g_date_time_new_from_iso8601(status.json_string("created_at").c_str(), nullptr);
  ASSERT_NE(created, nullptr) << status.json_string("created_at");
  EXPECT_LT(std::abs(g_date_time_to_unix(created) - g_get_real_time() / G_USEC_PER_SEC), 300);
  g_date_time_unref(created);

  const HttpResponse download = http_get(daemon.url("download/" + id));
  ASSERT_EQ(download.status, 200u);
  EXPECT_EQ(download.header("Content-Type"), "audio/wav");
  EXPECT_TRUE(contains(download.header("Content-Disposition"), "attachment"));
  EXPECT_TRUE(contains(download.header("Content-Disposition"), "mix_vocals.wav"));
  const std::string saved = scratch_.file("vocals.wav");
  write_file_bytes(saved, download.body);
  EXPECT_GE(snr_db(upstream_vocals(), read_wav(saved).samples), 80.0);

  // /jobs lists it; /health says the model is loaded.
  EXPECT_TRUE(contains(http_get(daemon.url("jobs")).body, id));
  const HttpResponse health = http_get(daemon.url("health"));
  EXPECT_EQ(health.json_string("status"), "ok");
  EXPECT_EQ(health.json_string("model_state"), "ready");
  EXPECT_TRUE(contains(health.body, "\"model_loaded\":true"));
  EXPECT_TRUE(contains(daemon.log(), "job " + id + ": completed"));
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(DaemonApiTest, InstrumentalAsFlacAndWav) {
  DaemonProcess daemon(data_dir(), {"--max-jobs", "2"});
  const std::string flac = upload_mix(daemon, {{"stem", "instrumental"}, {"format", "flac"}});
  const std::string wav = upload_mix(daemon, {{"stem", "instrumental"}});
  ASSERT_TRUE(wait_for_status(daemon, flac, "completed")) << status_of(daemon, flac).body;
  ASSERT_TRUE(wait_for_status(daemon, wav, "completed")) << status_of(daemon, wav).body;

  const HttpResponse flac_download = http_get(daemon.url("download/" + flac));
  ASSERT_EQ(flac_download.status, 200u);
  EXPECT_EQ(flac_download.header("Content-Type"), "audio/flac");
  EXPECT_TRUE(contains(flac_download.header("Content-Disposition"), "mix_instrumental.flac"));
  const std::string flac_path = scratch_.file("instrumental.flac");
  write_file_bytes(flac_path, flac_download.body);
  const std::string wav_path = scratch_.file("instrumental.wav");
  write_file_bytes(wav_path, http_get(daemon.url("download/" + wav)).body);

  // The same stem in both formats (to FLAC's rounding), and not the vocals.
  // (That instrumental is the sum of the other stems is the element's test.)
  const at::Tensor instrumental = read_wav(wav_path).samples;
  EXPECT_GE(snr_db(instrumental, decode_audio_file(flac_path).samples), 70.0);
  EXPECT_LT(snr_db(upstream_vocals(), instrumental), 10.0);
}

// stem=all: one job, one pass, every stem of the model; /status lists them,
// /download/{id}/{stem} gives each, /download/{id} a zip (stored) of them all.
TEST_F(DaemonApiTest, AllStemsGiveAZipAndADownloadPerStem) {
  DaemonProcess daemon(data_dir());
  const std::string id = upload_mix(daemon, {{"stem", "all"}});
  ASSERT_TRUE(wait_for_status(daemon, id, "completed")) << status_of(daemon, id).body;
  const HttpResponse status = status_of(daemon, id);
  const std::vector<std::string> stems = {"drums", "bass", "other", "vocals", "instrumental"};
  EXPECT_TRUE(contains(status.body, "\"stems\":[\"drums\",\"bass\",\"other\",\"vocals\",\"instrumental\"]"))
      << status.body;
  EXPECT_EQ(status.json_string("stem"), "all");  // a model given by path: its stems are known once it ran

  const HttpResponse zip = http_get(daemon.url("download/" + id));
  ASSERT_EQ(zip.status, 200u) << zip.body;
  EXPECT_EQ(zip.header("Content-Type"), "application/zip");
  EXPECT_TRUE(contains(zip.header("Content-Disposition"), "mix_stems.zip"));
  ASSERT_GT(zip.body.size(), 22u);
  EXPECT_EQ(zip.body.substr(0, 4), std::string("PK\x03\x04", 4));
  EXPECT_EQ(zip.body.substr(zip.body.size() - 22, 4), std::string("PK\x05\x06", 4));
  EXPECT_EQ(static_cast<unsigned char>(zip.body[zip.body.size() - 22 + 10]), stems.size()) << "entries";
  for (const std::string &stem : stems) {
    const HttpResponse one = http_get(daemon.url("download/" + id + "/" + stem));
    ASSERT_EQ(one.status, 200u) << stem << one.body;
    EXPECT_EQ(one.header("Content-Type"), "audio/wav");
    EXPECT_TRUE(contains(one.header("Content-Disposition"), "mix_" + stem + ".wav"));
    EXPECT_TRUE(contains(zip.body, stem + ".wav")) << "no entry for " << stem;
    EXPECT_NE(zip.body.find(one.body), std::string::npos) << stem << " is not stored as is in the zip";
    if (stem == "vocals") {
      const std::string saved = scratch_.file("vocals.wav");
      write_file_bytes(saved, one.body);
      EXPECT_GE(snr_db(upstream_vocals(), read_wav(saved).samples), 80.0);
    }
  }
  const HttpResponse missing = http_get(daemon.url("download/" + id + "/guitar"));
  EXPECT_EQ(missing.status, 404u);
  EXPECT_TRUE(contains(missing.body, "its stems: drums, bass, other, vocals, instrumental"));
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(DaemonApiTest, AStemListGivesThoseStemsAndOneStemJobsKeepTheirDownload) {
  DaemonProcess daemon(data_dir(), {"--max-jobs", "2"});
  const std::string two = upload_mix(daemon, {{"stem", "vocals, instrumental"}, {"format", "flac"}});
  const std::string one = upload_mix(daemon);
  ASSERT_TRUE(wait_for_status(daemon, two, "completed")) << status_of(daemon, two).body;
  ASSERT_TRUE(wait_for_status(daemon, one, "completed")) << status_of(daemon, one).body;
  EXPECT_TRUE(contains(status_of(daemon, two).body, "\"stems\":[\"vocals\",\"instrumental\"]"));
  EXPECT_TRUE(contains(status_of(daemon, one).body, "\"stems\":[\"vocals\"]"));
  const HttpResponse flac = http_get(daemon.url("download/" + two + "/instrumental"));
  ASSERT_EQ(flac.status, 200u);
  EXPECT_EQ(flac.header("Content-Type"), "audio/flac");
  EXPECT_EQ(http_get(daemon.url("download/" + two)).header("Content-Type"), "application/zip");
  // A one-stem job: /download/{id} is its file, /download/{id}/vocals too.
  const HttpResponse whole = http_get(daemon.url("download/" + one));
  EXPECT_EQ(whole.header("Content-Type"), "audio/wav");
  EXPECT_EQ(http_get(daemon.url("download/" + one + "/vocals")).body, whole.body);
  // A stem the model lacks: with a model given by path (its stems known once
  // it loads) the job fails with the element's message, and leaves no file.
  const std::string kazoo = upload_mix(daemon, {{"stem", "vocals,kazoo"}});
  ASSERT_TRUE(wait_for_status(daemon, kazoo, "error")) << status_of(daemon, kazoo).body;
  EXPECT_TRUE(contains(status_of(daemon, kazoo).json_string("error_message"), "unknown stem 'kazoo'"));
  EXPECT_EQ(http_get(daemon.url("download/" + kazoo + "/vocals")).status, 409u);
  const HttpResponse bad = upload_file(daemon.url(), test_data("mix.wav"), "mix.wav", {{"stem", "vocals,ka/zoo"}});
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(DaemonApiTest, AtMostMaxJobsAtOnceAndQueuePositionsInUploadOrder) {
  DaemonProcess daemon(data_dir(), {"--max-jobs", "2"});
  // Hold the queue until every upload is in: the model is loaded at start-up,
  // so wait for it first and upload the 8 files quickly.
  ASSERT_TRUE(wait_until([&] { return contains(http_get(daemon.url("health")).body, "\"model_loaded\":true"); }, 60));
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(upload_mix(daemon, {}, test_data("mix.wav"), "song" + std::to_string(i) + ".wav"));

  int most_processing = 0;
  bool positions_checked = false;
  const bool all_done = wait_until([&] {
    const HttpResponse jobs = http_get(daemon.url("jobs"));
    JsonNode *root = jobs.json();
    if (root == nullptr) return false;
    JsonArray *array = json_object_get_array_member(json_node_get_object(root), "jobs");
    int processing = 0, completed = 0;
    std::vector<std::pair<std::int64_t, std::string>> pending;  // (queue position, id)
    for (guint i = 0; i < json_array_get_length(array); ++i) {
      JsonObject *job = json_array_get_object_element(array, i);
      const std::string status = json_object_get_string_member(job, "status");
      if (status == "processing") ++processing;
      if (status == "completed") ++completed;
      if (status == "pending")
        pending.emplace_back(json_object_get_int_member(job, "queue_position"),
                             json_object_get_string_member(job, "job_id"));
    }
    json_node_unref(root);
    most_processing = std::max(most_processing, processing);
    // Pending jobs are numbered 1..n in upload order.
    std::sort(pending.begin(), pending.end());
    std::vector<std::string> waiting_in_upload_order;
    for (const std::string &id : ids)
      for (const auto &entry : pending)
        if (entry.second == id) waiting_in_upload_order.push_back(id);
    for (std::size_t i = 0; i < pending.size(); ++i) {
      EXPECT_EQ(pending[i].first, static_cast<std::int64_t>(i) + 1);
      EXPECT_EQ(pending[i].second, waiting_in_upload_order[i]);
      positions_checked = true;
    }
    return completed == 8;
  }, 8 * kJobSeconds);
  EXPECT_TRUE(all_done) << http_get(daemon.url("jobs")).body;
  EXPECT_EQ(most_processing, 2);
  EXPECT_TRUE(positions_checked) << "never saw a pending job";
}

TEST_F(DaemonApiTest, RestartLosesNothing) {
  const std::string long_input = long_mix(10);
  std::string done, interrupted, waiting;
  {
    DaemonProcess daemon(data_dir());
    done = upload_mix(daemon);
    ASSERT_TRUE(wait_for_status(daemon, done, "completed"));
    interrupted = upload_mix(daemon, {}, long_input, "long.wav");
    waiting = upload_mix(daemon);
    ASSERT_TRUE(wait_until([&] { return status_of(daemon, interrupted).json_number("progress") > 0; }, kJobSeconds));
    EXPECT_EQ(status_of(daemon, waiting).json_string("status"), "pending");
    EXPECT_EQ(daemon.stop(), 0) << daemon.log();
    // --shutdown-grace 0 (DaemonProcess's default): stopped and queued again.
    EXPECT_TRUE(contains(daemon.log(), "job " + interrupted + ": stopped by shutdown; queued again"));
  }
  DaemonProcess daemon(data_dir());
  ASSERT_TRUE(wait_for_status(daemon, interrupted, "completed", 3 * kJobSeconds)) << status_of(daemon, interrupted).body;
  ASSERT_TRUE(wait_for_status(daemon, waiting, "completed"));
  const HttpResponse earlier = http_get(daemon.url("download/" + done));
  EXPECT_EQ(earlier.status, 200u);
  const std::string saved = scratch_.file("earlier.wav");
  write_file_bytes(saved, earlier.body);
  EXPECT_GE(snr_db(upstream_vocals(), read_wav(saved).samples), 80.0);
  const HttpResponse long_result = http_get(daemon.url("download/" + interrupted));
  EXPECT_EQ(long_result.status, 200u);
  EXPECT_GT(long_result.body.size(), 10 * 264600u * 2 * 2);  // the whole 60 s, at least 16-bit stereo
  // No partial output was left behind by the stop.
  for (const std::string &file : files_below(data_dir() + "/jobs"))
    EXPECT_FALSE(g_str_has_suffix(file.c_str(), ".partial")) << file;
}

TEST_F(DaemonApiTest, CancelStopsThePipelineAndRemovesTheFiles) {
  DaemonProcess daemon(data_dir());
  const std::string id = upload_mix(daemon, {}, long_mix(10), "long.wav");
  const std::string next = upload_mix(daemon);
  ASSERT_TRUE(wait_until([&] { return status_of(daemon, id).json_number("progress") > 0; }, kJobSeconds));
  ASSERT_TRUE(exists(data_dir() + "/jobs/" + id));
  const gint64 before = g_get_monotonic_time();
  const HttpResponse deleted = http_delete(daemon.url("jobs/" + id));
  EXPECT_LT(g_get_monotonic_time() - before, 5 * G_USEC_PER_SEC) << "cancel was not immediate";
  EXPECT_EQ(deleted.status, 200u) << deleted.body;
  EXPECT_TRUE(contains(deleted.body, "\"deleted\":true"));
  EXPECT_EQ(status_of(daemon, id).status, 404u);
  EXPECT_TRUE(wait_until([&] { return !exists(data_dir() + "/jobs/" + id); }, 10));  // removed in the background
  EXPECT_TRUE(contains(daemon.log(), "job " + id + ": cancelled while processing"));
  // The daemon goes on with the next job.
  EXPECT_TRUE(wait_for_status(daemon, next, "completed"));
  EXPECT_EQ(http_delete(daemon.url("jobs/" + id)).status, 404u);
}

TEST_F(DaemonApiTest, EventStreamSaysWhenAJobIsDeleted) {
  DaemonProcess daemon(data_dir());
  const std::string id = upload_mix(daemon, {}, long_mix(10), "long.wav");
  std::vector<ServerSentEvent> events;
  std::thread reader([&] { events = read_event_stream(daemon.url("events/" + id), kJobSeconds); });
  ASSERT_TRUE(wait_until([&] { return status_of(daemon, id).json_number("progress") > 0; }, kJobSeconds));
  EXPECT_EQ(http_delete(daemon.url("jobs/" + id)).status, 200u);
  reader.join();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "deleted");
  EXPECT_TRUE(contains(events.back().data, id));
}

TEST_F(DaemonApiTest, ExpiredJobsAndTheirFilesDisappear) {
  DaemonProcess daemon(data_dir(), {"--job-ttl", "4", "--cleanup-interval", "1"});
  const std::string id = upload_mix(daemon);
  ASSERT_TRUE(wait_for_status(daemon, id, "completed"));
  ASSERT_TRUE(exists(data_dir() + "/jobs/" + id));
  EXPECT_TRUE(wait_until([&] { return status_of(daemon, id).status == 404; }, 15));
  EXPECT_TRUE(wait_until([&] { return !exists(data_dir() + "/jobs/" + id); }, 10));  // removed in the background
  EXPECT_TRUE(contains(daemon.log(), "job " + id + ": expired and removed"));
}

// --- Downloads and the disk, with the main loop free ----------------------------

TEST_F(DaemonApiTest, ADownloadIsReadInPiecesAndAFileThatShrinksCutsItNotTheDaemon) {
  DaemonProcess daemon(data_dir());
  const std::string id = upload_mix(daemon);
  ASSERT_TRUE(wait_for_status(daemon, id, "completed"));
  const std::string output = data_dir() + "/jobs/" + id + "/attempt-1/output.wav";  // its first attempt's folder
  const std::string result = read_file_bytes(output);
  // A range, as players ask for when seeking.
  const HttpResponse range = http_get(daemon.url("download/" + id), {{"Range", "bytes=100-199"}});
  EXPECT_EQ(range.status, 206u);
  EXPECT_EQ(range.body, result.substr(100, 100));
  EXPECT_EQ(range.header("Content-Range"), "bytes 100-199/" + std::to_string(result.size()));

  // A result of 1 GiB (sparse: no disk used), read by a client that stops
  // after 1 MiB; then the file shrinks to nothing under the daemon, as when
  // another node removes it from a shared folder. A mapped file ends the
  // daemon with SIGBUS here.
  constexpr gint64 kSize = 1LL << 30;
  ASSERT_EQ(truncate(output.c_str(), kSize), 0);
  const long before = daemon.rss_kib();
  RawConnection reader(daemon.port());
  ASSERT_TRUE(reader.send("GET /download/" + id + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  std::string received = reader.read_at_least(1 << 20, 10);
  ASSERT_EQ(demucs::testing::status_of(received), 200u) << received.substr(0, 300);
  EXPECT_TRUE(contains(received, "Content-Length: " + std::to_string(kSize)));
  g_usleep(G_USEC_PER_SEC / 2);  // the daemon fills the socket's buffers and waits
  const long growth_kib = daemon.rss_kib() - before;
  EXPECT_LT(growth_kib, 16 * 1024) << "RSS grew by " << growth_kib / 1024 << " MiB for a download held by its client";
  std::printf("[ measured ] RSS growth with a 1 GiB download held: %ld KiB\n", growth_kib);
  ASSERT_EQ(truncate(output.c_str(), 0), 0);
  received += reader.read_until_closed(30);
  EXPECT_LT(received.size(), static_cast<std::size_t>(kSize / 4)) << "the response went on past the file's end";
  std::printf("[ measured ] received %zu of %lld bytes before the cut\n", received.size(),
              static_cast<long long>(kSize));
  EXPECT_TRUE(wait_until([&] { return contains(daemon.log(), "cut short"); }, 5)) << daemon.log();
  EXPECT_FALSE(daemon.pid().empty()) << "the daemon died";
  EXPECT_EQ(http_get(daemon.url("health")).status, 200u);
  EXPECT_EQ(http_get(daemon.url("download/" + id)).body.size(), 0u);  // the file is empty now, and whole
}

// On a slow disk (slow_disk_preload.c, 3 s per upload fsync), requests are
// served while an upload is synced.
TEST_F(DaemonApiTest, AnUploadIsSyncedOffTheMainLoop) {
  DaemonLaunch slow_disk;
  slow_disk.environment = {{"LD_PRELOAD", DEMUCS_SLOW_DISK_PRELOAD}, {"DEMUCS_TEST_SLOW_DISK_MS", "3000"}};
  DaemonProcess daemon(data_dir(), {}, slow_disk);
  ASSERT_EQ(http_get(daemon.url("health")).status, 200u);
  std::string id;
  gint64 upload_us = 0;
  std::thread uploader([&] {
    const gint64 start = g_get_monotonic_time();
    id = upload_file(daemon.url(), test_data("mix.wav"), "mix.wav").json_string("job_id");
    upload_us = g_get_monotonic_time() - start;
  });
  ASSERT_TRUE(wait_until([&] { return !files_below(data_dir() + "/jobs").empty(); }, 10));
  g_usleep(G_USEC_PER_SEC / 2);  // the body is in: the sync has begun
  gint64 slowest_us = 0;
  for (int i = 0; i < 10; ++i) {
    const gint64 start = g_get_monotonic_time();
    EXPECT_EQ(http_get(daemon.url("health")).status, 200u);
    slowest_us = std::max(slowest_us, g_get_monotonic_time() - start);
    g_usleep(G_USEC_PER_SEC / 5);
  }
  uploader.join();
  EXPECT_FALSE(id.empty());
  EXPECT_GT(upload_us, 2 * G_USEC_PER_SEC) << "the upload was not synced (the slow disk did not apply)";
  EXPECT_LT(slowest_us, G_USEC_PER_SEC) << "a request waited " << slowest_us / 1000 << " ms for the sync";
  std::printf("[ measured ] upload %.2f s (3 s of it the sync), slowest /health meanwhile %.1f ms\n", upload_us / 1e6,
              slowest_us / 1e3);
  EXPECT_TRUE(exists(data_dir() + "/jobs/" + id + "/input.wav"));
}

// On a slow disk (20 ms per file removed), deleting a job of 150 files takes
// 3 s of removal: the DELETE is answered at once, and others meanwhile.
TEST_F(DaemonApiTest, ALargeJobFolderIsRemovedOffTheMainLoop) {
  DaemonLaunch slow_disk;
  slow_disk.environment = {{"LD_PRELOAD", DEMUCS_SLOW_DISK_PRELOAD}, {"DEMUCS_TEST_SLOW_DISK_MS", "20"}};
  DaemonProcess daemon(data_dir(), {}, slow_disk);
  const std::string id = upload_mix(daemon);
  const std::string folder = data_dir() + "/jobs/" + id;
  for (int i = 0; i < 150; ++i) write_file_bytes(folder + "/slow-" + std::to_string(i), "x");
  const gint64 start = g_get_monotonic_time();
  const HttpResponse deleted = http_delete(daemon.url("jobs/" + id));
  const gint64 delete_us = g_get_monotonic_time() - start;
  EXPECT_EQ(deleted.status, 200u) << deleted.body;
  EXPECT_LT(delete_us, G_USEC_PER_SEC) << "the DELETE waited " << delete_us / 1000 << " ms for the removal";
  const gint64 health_start = g_get_monotonic_time();
  EXPECT_EQ(http_get(daemon.url("health")).status, 200u);
  const gint64 health_us = g_get_monotonic_time() - health_start;
  EXPECT_LT(health_us, G_USEC_PER_SEC / 2);
  std::printf("[ measured ] DELETE answered in %.1f ms, /health after it in %.1f ms\n", delete_us / 1e3,
              health_us / 1e3);
  EXPECT_TRUE(exists(folder)) << "removed already: the slow disk did not apply";
  EXPECT_TRUE(wait_until([&] { return !exists(folder); }, 20));
}

class DaemonBadInputTest : public DaemonApiTest {
 protected:
  void SetUp() override { daemon_ = std::make_unique<DaemonProcess>(data_dir(), std::vector<std::string>{"--max-upload-mb", "1"}); }
  void TearDown() override {
    // Still serving, and nothing of a refused upload left on disk (nor of a
    // deleted job, whose folder goes in the background).
    EXPECT_EQ(http_get(daemon_->url("health")).status, 200u);
    EXPECT_TRUE(wait_until([&] { return files_below(data_dir() + "/jobs").empty(); }, 10))
        << files_below(data_dir() + "/jobs").front();
    daemon_.reset();
  }

  // Expects `reply` to be a JSON error with `status` whose text contains `words`.
  static void expect_error(const HttpResponse &reply, unsigned status, const std::string &words) {
    EXPECT_EQ(reply.status, status) << reply.body << reply.transport_error;
    EXPECT_EQ(reply.header("Content-Type"), "application/json");
    EXPECT_TRUE(contains(reply.json_string("error"), words));
  }

  HttpResponse upload_bytes(const std::string &name, const std::string &bytes,
                            const std::map<std::string, std::string> &fields = {}) {
    MultipartBody body;
    body.file("file", name, bytes);
    for (const auto &field : fields) body.field(field.first, field.second);
    return upload(daemon_->url(), body);
  }

  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(DaemonBadInputTest, EmptyFile) { expect_error(upload_bytes("song.mp3", ""), 400, "is empty"); }

TEST_F(DaemonBadInputTest, TextFileNamedMp3) {
  expect_error(upload_bytes("notes.mp3", std::string(5000, 'x') + "\nthis is text, not audio\n"), 415,
               "\"notes.mp3\" is not audio that can be decoded: it is a text file");
}

TEST_F(DaemonBadInputTest, ExecutableType) {
  expect_error(upload_bytes("setup.exe", "MZ\x90\x00"), 415, "not an allowed file type");
  expect_error(upload_bytes("setup.exe", "MZ"), 415, "mp3, wav, flac, ogg, m4a, aac");
}

TEST_F(DaemonBadInputTest, NoFileField) {
  MultipartBody body;
  body.field("stem", "vocals");
  expect_error(upload(daemon_->url(), body), 400, "field named \"file\"");
}

TEST_F(DaemonBadInputTest, NotMultipart) {
  expect_error(http_post(daemon_->url("upload"), "application/json", "{\"file\": \"x\"}"), 400,
               "multipart/form-data");
  expect_error(http_post(daemon_->url("upload"), "multipart/form-data; boundary=abc", "garbage without boundary"),
               400, "not a valid multipart/form-data body");
}

TEST_F(DaemonBadInputTest, UnknownStemOrFormat) {
  const std::string mix = read_file_bytes(test_data("mix.wav"));
  expect_error(upload_bytes("mix.wav", mix.substr(0, 200000), {{"format", "ogg"}}), 400, "wav, flac, mp3");
  expect_error(upload_bytes("mix.wav", mix.substr(0, 200000), {{"stem", "kazoo;rm"}}), 400, "Unknown stem");
}

TEST_F(DaemonBadInputTest, TooLargeByContentLength) {
  // Announced as 3 MB with Expect: 100-continue: refused before the body is sent.
  MultipartBody body;
  body.file("file", "big.wav", std::string(3 * 1024 * 1024, 'a'));
  const gint64 before = g_get_monotonic_time();
  const HttpResponse reply = http_post(daemon_->url("upload"), body.content_type(), body.bytes(),
                                       {{"Expect", "100-continue"}});
  expect_error(reply, 413, "limit is 1 MB");
  EXPECT_LT(g_get_monotonic_time() - before, 10 * G_USEC_PER_SEC);
  // Without the Expect header the answer goes out at once and the connection
  // is closed without reading the body (daemon_security_test checks that on
  // a raw connection: a client that writes the whole body before reading,
  // as libsoup's does, sees the connection closed instead).
}

TEST_F(DaemonBadInputTest, TooLargeByBytesReceived) {
  // Under the announced slack but over 1 MB of file: refused while streaming.
  MultipartBody body;
  body.file("file", "big.wav", std::string(1024 * 1024 + 1000, 'a'));
  expect_error(upload(daemon_->url(), body), 413, "too large");
}

TEST_F(DaemonBadInputTest, TruncatedMp3) {
  const std::string mp3 = scratch_.file("mix.mp3");
  run_launch("filesrc location=" + test_data("mix.wav") + " ! wavparse ! audioconvert ! lamemp3enc ! filesink location=" + mp3);
  const std::string bytes = read_file_bytes(mp3);
  ASSERT_GT(bytes.size(), 10000u);
  // The first third of an MP3 is still an MP3: accepted, and the job gives the audio that is there.
  const HttpResponse reply = upload_bytes("cut.mp3", bytes.substr(0, bytes.size() / 3));
  ASSERT_EQ(reply.status, 200u) << reply.body;
  const std::string id = reply.json_string("job_id");
  ASSERT_TRUE(wait_for_status(*daemon_, id, "completed")) << status_of(*daemon_, id).body;
  const HttpResponse download = http_get(daemon_->url("download/" + id));
  const std::string saved = scratch_.file("cut.wav");
  write_file_bytes(saved, download.body);
  const WavAudio audio = read_wav(saved);
  EXPECT_NEAR(audio.samples.size(1), 264600 / 3, 264600 / 10);
  // A few bytes of an MP3 are not.
  expect_error(upload_bytes("tiny.mp3", bytes.substr(0, 300)), 415, "is not audio that can be decoded");
  EXPECT_EQ(http_delete(daemon_->url("jobs/" + id)).status, 200u);
}

TEST_F(DaemonBadInputTest, PathsAndControlCharactersInTheName) {
  const std::string mix = read_file_bytes(test_data("mix.wav")).substr(0, 500000);  // under the 1 MB limit
  const HttpResponse reply = upload_bytes("../../../etc/x\x01\x1b[31m.wav", mix);
  ASSERT_EQ(reply.status, 200u) << reply.body;
  const std::string id = reply.json_string("job_id");
  const HttpResponse status = status_of(*daemon_, id);
  EXPECT_EQ(status.json_string("filename"), "x[31m.wav");
  // Everything the upload made is inside the job's folder.
  for (const std::string &file : files_below(scratch_.path())) {
    if (file.find("/data/") != std::string::npos) {
      EXPECT_EQ(file.rfind(data_dir(), 0), 0u) << file;
    }
  }
  EXPECT_FALSE(exists(scratch_.path() + "/etc"));
  EXPECT_TRUE(exists(data_dir() + "/jobs/" + id + "/input.wav"));
  EXPECT_EQ(http_delete(daemon_->url("jobs/" + id)).status, 200u);
}

TEST_F(DaemonBadInputTest, UnknownJobsAndDownloadBeforeCompletion) {
  expect_error(http_get(daemon_->url("status/no-such-job")), 404, "no job");
  expect_error(http_get(daemon_->url("download/no-such-job")), 404, "no job");
  expect_error(http_get(daemon_->url("events/no-such-job")), 404, "no job");
  expect_error(http_delete(daemon_->url("jobs/no-such-job")), 404, "no job");
  expect_error(http_get(daemon_->url("no/such/page")), 404, "no page");
  expect_error(http_delete(daemon_->url("health")), 405, "not allowed");

  const HttpResponse reply = upload_bytes("mix.wav", read_file_bytes(test_data("mix.wav")).substr(0, 500000));
  const std::string id = reply.json_string("job_id");
  ASSERT_FALSE(id.empty()) << reply.body;
  expect_error(http_get(daemon_->url("download/" + id)), 409, "not finished yet");
  EXPECT_EQ(http_delete(daemon_->url("jobs/" + id)).status, 200u);
}

TEST_F(DaemonBadInputTest, PipelineErrorBecomesTheJobsError) {
  // The model is a .th path, so the stem is checked by the element, whose
  // message (listing the valid stems) becomes the job's error.
  const HttpResponse reply =
      upload_bytes("mix.wav", read_file_bytes(test_data("mix.wav")).substr(0, 500000), {{"stem", "guitar"}});
  ASSERT_EQ(reply.status, 200u) << reply.body;
  const std::string id = reply.json_string("job_id");
  ASSERT_TRUE(wait_for_status(*daemon_, id, "error"));
  const HttpResponse status = status_of(*daemon_, id);
  EXPECT_TRUE(contains(status.json_string("error_message"), "guitar"));
  EXPECT_TRUE(contains(status.json_string("error_message"), "vocals"));
  expect_error(http_get(daemon_->url("download/" + id)), 409, "failed");
  EXPECT_EQ(http_delete(daemon_->url("jobs/" + id)).status, 200u);
}

TEST_F(DaemonBadInputTest, UploadCutShortLeavesNothing) {
  // A client that goes away in the middle of its upload.
  MultipartBody body;
  body.file("file", "mix.wav", read_file_bytes(test_data("mix.wav")).substr(0, 500000));
  const std::string bytes = body.bytes();
  GSocketClient *client = g_socket_client_new();
  GUri *uri = g_uri_parse(daemon_->url().c_str(), G_URI_FLAGS_NONE, nullptr);
  GSocketConnection *connection =
      g_socket_client_connect_to_host(client, g_uri_get_host(uri), g_uri_get_port(uri), nullptr, nullptr);
  ASSERT_NE(connection, nullptr);
  const std::string head = "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + body.content_type() +
                           "\r\nContent-Length: " + std::to_string(bytes.size()) + "\r\n\r\n";
  GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(connection));
  ASSERT_TRUE(g_output_stream_write_all(out, head.data(), head.size(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(g_output_stream_write_all(out, bytes.data(), bytes.size() / 2, nullptr, nullptr, nullptr));
  // The daemon has begun to store it...
  EXPECT_TRUE(wait_until([&] { return !files_below(data_dir() + "/jobs").empty(); }, 10));
  g_io_stream_close(G_IO_STREAM(connection), nullptr, nullptr);
  g_object_unref(connection);
  g_uri_unref(uri);
  g_object_unref(client);
  // ...and removes it when the client is gone (TearDown checks that the folder is empty).
  EXPECT_TRUE(wait_until([&] { return files_below(data_dir() + "/jobs").empty(); }, 10));
  EXPECT_TRUE(contains(http_get(daemon_->url("jobs")).body, "\"jobs\":[]"));
}

TEST_F(DaemonBadInputTest, StaticFilesStayInsideTheWebFolder) {
  for (const char *path : {"..%2f..%2fmeson.build", "%2e%2e/meson.build", ".hidden", "web/../../meson.build"})
    EXPECT_NE(http_get(daemon_->url(path)).status, 200u) << path;
}

TEST_F(DaemonApiTest, UploadsAreStreamedToDiskNotHeldInMemory) {
  DaemonProcess daemon(data_dir(), {"--max-upload-mb", "200"});
  ASSERT_TRUE(wait_until([&] { return contains(http_get(daemon.url("health")).body, "\"model_loaded\":true"); }, 60));
  const long before = daemon.peak_rss_kib();
  ASSERT_GT(before, 0);
  // 100 MB that is not audio: stored, probed, refused.
  MultipartBody body;
  body.file("file", "big.wav", std::string(100 * 1024 * 1024, 'a'));
  const HttpResponse reply = upload(daemon.url(), body);
  EXPECT_EQ(reply.status, 415u) << reply.body;
  const long growth_kib = daemon.peak_rss_kib() - before;
  EXPECT_LT(growth_kib, 20 * 1024) << "peak RSS grew by " << growth_kib / 1024 << " MiB for a 100 MB upload";
  EXPECT_TRUE(files_below(data_dir() + "/jobs").empty());
}

TEST(DaemonOptions, EnvironmentSetsOptionsAndTheCommandLineWins) {
  ScratchDirectory scratch;
  const std::string upload = read_file_bytes(test_data("mix.wav")) + std::string(600000, '\0');  // 1.6 MB
  MultipartBody body;
  body.file("file", "mix.wav", upload);
  g_setenv("DEMUCS_VOCALSD_MAX_UPLOAD_MB", "1", TRUE);
  {
    DaemonProcess daemon(scratch.file("data"));
    const HttpResponse reply = testing::upload(daemon.url(), body);
    EXPECT_EQ(reply.status, 413u) << reply.body;
    EXPECT_TRUE(contains(reply.json_string("error"), "limit is 1 MB"));
  }
  {
    DaemonProcess daemon(scratch.file("data"), {"--max-upload-mb", "3"});
    EXPECT_EQ(testing::upload(daemon.url(), body).status, 200u);
  }
  g_setenv("DEMUCS_VOCALSD_MAX_UPLOAD_MB", "lots", TRUE);
  const ProgramExit refused = run_daemon_to_exit({});
  EXPECT_NE(refused.exit_status, 0);
  EXPECT_TRUE(contains(refused.error_output, "DEMUCS_VOCALSD_MAX_UPLOAD_MB=lots is not a whole number"));
  g_unsetenv("DEMUCS_VOCALSD_MAX_UPLOAD_MB");
}

TEST_F(DaemonApiTest, PrecisionGoesToEveryJobsElement) {
  {
    // fp16 is for GPUs: on the CPU the element refuses it, and says so.
    DaemonProcess half(data_dir(), {"--precision", "fp16"});
    ASSERT_TRUE(wait_until([&] { return contains(http_get(half.url("health")).body, "unavailable"); }, 60));
    EXPECT_TRUE(contains(http_get(half.url("health")).json_string("model_error"), "fp16"));
  }
  DaemonProcess daemon(scratch_.file("bf16"), {"--precision", "bf16"});
  const std::string id = upload_mix(daemon);
  ASSERT_TRUE(wait_for_status(daemon, id, "completed")) << status_of(daemon, id).body;
  const std::string saved = scratch_.file("bf16.wav");
  write_file_bytes(saved, http_get(daemon.url("download/" + id)).body);
  const double snr = snr_db(upstream_vocals(), read_wav(saved).samples);
  EXPECT_GT(snr, 25.0);  // bfloat16 is coarse...
  EXPECT_LT(snr, 80.0);  // ...so the job really ran in it
}

TEST(DaemonOptions, AnUnknownPrecisionIsRefused) {
  const ProgramExit refused = run_daemon_to_exit({"--precision", "fp64"});
  EXPECT_NE(refused.exit_status, 0);
  EXPECT_TRUE(contains(refused.error_output, "--precision fp64 is not one of fp32, fp16, bf16"));
}

TEST(DaemonOffline, StartsAndSaysHowToInstallTheModel) {
  ScratchDirectory scratch;
  g_setenv("DEMUCS_VOCALS_CACHE", scratch.file("empty-cache").c_str(), TRUE);
  g_setenv("DEMUCS_VOCALS_MODEL_URL", "http://127.0.0.1:9/", TRUE);  // nothing listens there
  DaemonProcess daemon(scratch.file("data"), {"--model", "htdemucs"});
  ASSERT_FALSE(daemon.url().empty());
  ASSERT_TRUE(wait_until([&] { return contains(http_get(daemon.url("health")).body, "unavailable"); }, 60));
  const HttpResponse health = http_get(daemon.url("health"));
  EXPECT_EQ(health.json_string("status"), "degraded");
  EXPECT_TRUE(contains(health.body, "\"model_loaded\":false"));
  const std::string how = health.json_string("model_error");
  EXPECT_TRUE(contains(how, "http://127.0.0.1:9/hybrid_transformer/955717e8-8726e21a.th"));
  // The answer names the folder; the full path is for the operator's log only.
  EXPECT_TRUE(contains(how, "put it into the folder empty-cache"));
  EXPECT_FALSE(contains(how, scratch.path()));
  EXPECT_TRUE(contains(daemon.log(), "put it into the folder " + scratch.file("empty-cache")));

  const HttpResponse reply = upload_file(daemon.url(), test_data("mix.wav"), "mix.wav");
  ASSERT_EQ(reply.status, 200u);
  const std::string id = reply.json_string("job_id");
  if (testing_with_postgresql()) {
    // A shared queue: the node stops claiming, the job waits for one that can run it.
    g_usleep(3 * G_USEC_PER_SEC);
    EXPECT_EQ(http_get(daemon.url("status/" + id)).json_string("status"), "pending");
  } else {
    ASSERT_TRUE(wait_until([&] { return http_get(daemon.url("status/" + id)).json_string("status") == "error"; }, 30));
    EXPECT_TRUE(contains(http_get(daemon.url("status/" + id)).json_string("error_message"), "955717e8-8726e21a.th"));
  }
  g_unsetenv("DEMUCS_VOCALS_MODEL_URL");
}

TEST(DaemonOffline, AModelPutInPlaceLaterIsUsedByTheNextUpload) {
  ScratchDirectory scratch;
  const std::string model = scratch.file("later.th");
  DaemonProcess daemon(scratch.file("data"), {"--model", model});
  ASSERT_TRUE(wait_until([&] { return contains(http_get(daemon.url("health")).body, "unavailable"); }, 60));
  const std::string failed = upload_file(daemon.url(), test_data("mix.wav"), "mix.wav").json_string("job_id");
  if (!testing_with_postgresql()) {  // on a shared queue the job waits instead
    ASSERT_TRUE(
        wait_until([&] { return http_get(daemon.url("status/" + failed)).json_string("status") == "error"; }, 30));
    const std::string error_message = http_get(daemon.url("status/" + failed)).json_string("error_message");
    EXPECT_TRUE(contains(error_message, "later.th"));
    EXPECT_FALSE(contains(error_message, scratch.path()));
  }

  write_file_bytes(model, read_file_bytes(test_data("htdemucs-tiny-4s.th")));
  const std::string id = upload_file(daemon.url(), test_data("mix.wav"), "mix.wav").json_string("job_id");
  EXPECT_TRUE(wait_until([&] { return http_get(daemon.url("status/" + id)).json_string("status") == "completed"; },
                         kJobSeconds))
      << http_get(daemon.url("status/" + id)).body;
  EXPECT_TRUE(contains(http_get(daemon.url("health")).body, "\"model_loaded\":true"));
}

}  // namespace
}  // namespace demucs::testing
