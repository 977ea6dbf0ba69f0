// The event stream (event_stream.h) in this process, against the real SQLite
// store and a real HTTP server on loopback: a stream whose start fails (the
// store cannot be read) must leave nothing registered behind. It used to
// leave its keep-alive timer, its "finished" handler and its scheduler
// subscription pointing at the freed stream: a crash at the next keep-alive,
// at the response's end, or at the job's next change.
#include "event_stream.h"

#include "disk_space.h"
#include "job_scheduler.h"
#include "job_store.h"
#include "json_reply.h"

#include "http_client.h"

#include "support/scratch_directory.h"

#include <gtest/gtest.h>
#include <libsoup/soup.h>
#include <sqlite3.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace demucs::testing {
namespace {

constexpr guint kKeepAliveSeconds = 1;

// Runs the default main context until `condition` holds or `seconds` pass.
bool run_loop_until(const std::function<bool()> &condition, double seconds) {
  const gint64 end = g_get_monotonic_time() + static_cast<gint64>(seconds * G_USEC_PER_SEC);
  while (!condition()) {
    if (g_get_monotonic_time() >= end) return false;
    g_main_context_iteration(nullptr, FALSE);
    g_usleep(1000);
  }
  return true;
}

void run_loop_for(double seconds) {
  run_loop_until([] { return false; }, seconds);
}

// A second connection to the store's database file, as another program.
void run_sql(const std::string &database, const std::string &sql) {
  sqlite3 *db = nullptr;
  ASSERT_EQ(sqlite3_open(database.c_str(), &db), SQLITE_OK);
  char *error = nullptr;
  const int result = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(result, SQLITE_OK) << message;
}

class EventStreamTest : public ::testing::Test {
 protected:
  EventStreamTest() {
    g_mkdir_with_parents(data_dir_.c_str(), 0700);
    store_ = open_job_store("", data_dir_, "test");
    SchedulerSettings settings;
    settings.data_dir = data_dir_;
    settings.node = "test";
    settings.runs_jobs = false;  // the jobs stay pending
    scheduler_ = std::make_unique<JobScheduler>(*store_, disk_, settings);
    server_ = soup_server_new(nullptr, nullptr);
    soup_server_add_handler(server_, "/events", on_request, this, nullptr);
    GError *error = nullptr;
    listening_ = soup_server_listen_local(server_, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
    if (error) g_error_free(error);
    GSList *uris = soup_server_get_uris(server_);
    if (uris) url_ = "http://127.0.0.1:" + std::to_string(g_uri_get_port(static_cast<GUri *>(uris->data))) + "/events";
    g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
  }

  ~EventStreamTest() override {
    soup_server_disconnect(server_);
    g_object_unref(server_);
    run_loop_for(0.1);
  }

  Job pending_job(const std::string &id) {
    Job job;
    job.id = id;
    job.filename = "mix.wav";
    job.stem = "vocals";
    job.format = "wav";
    job.created_at = g_get_real_time();
    job.input_path = scheduler_->job_folder(id) + "/input.wav";
    job.output_path = scheduler_->job_folder(id) + "/output.wav";
    scheduler_->submit(job);
    return job;
  }

  // GET url_ in another thread (the server runs on this one's main loop).
  HttpResponse get_while_serving() {
    std::atomic<bool> done{false};
    HttpResponse response;
    std::thread client([&] {
      response = http_get(url_);
      done = true;
    });
    run_loop_until([&] { return done.load(); }, 10);
    client.join();
    return response;
  }

  // What RestApi does with a stream that cannot start: 503.
  static void on_request(SoupServer *, SoupServerMessage *message, const char *, GHashTable *, gpointer data) {
    auto *self = static_cast<EventStreamTest *>(data);
    try {
      start_event_stream(message, *self->scheduler_, self->streamed_, self->streams_.take(8), kKeepAliveSeconds);
    } catch (const JobStoreError &error) {
      ++self->refused_;
      reply_error(message, SOUP_STATUS_SERVICE_UNAVAILABLE, error.what());
    }
  }

  ScratchDirectory scratch_;
  std::string data_dir_ = scratch_.file("data");
  std::unique_ptr<JobStore> store_;
  DiskSpace disk_{scratch_.path(), 0};
  std::unique_ptr<JobScheduler> scheduler_;
  SoupServer *server_ = nullptr;
  bool listening_ = false;
  std::string url_;
  Job streamed_;  // the job the server streams
  SlotCounter streams_;
  int refused_ = 0;
};

TEST_F(EventStreamTest, AStreamThatCannotStartLeavesNothingBehind) {
  ASSERT_TRUE(listening_);
  streamed_ = pending_job("job-1");
  // The store fails from now on: its table is gone (renamed by another
  // connection), so the pending job's queue position cannot be read.
  const std::string database = data_dir_ + "/jobs.sqlite3";
  run_sql(database, "ALTER TABLE jobs RENAME TO jobs_away");

  const HttpResponse refused = get_while_serving();
  EXPECT_EQ(refused.status, 503u) << refused.body << refused.transport_error;
  EXPECT_EQ(refused_, 1);
  // Past a few keep-alive periods, nothing of the failed stream may fire.
  run_loop_for(3.5 * kKeepAliveSeconds);
  EXPECT_EQ(streams_.in_use(), 0);

  // The store back, the job deleted: its listeners are told; there is none.
  run_sql(database, "ALTER TABLE jobs_away RENAME TO jobs");
  EXPECT_TRUE(scheduler_->remove("job-1"));
  run_loop_for(0.2);
  EXPECT_EQ(streams_.in_use(), 0);
}

TEST_F(EventStreamTest, AStreamSendsKeepAlivesAndEndsWhenTheJobIsDeleted) {
  ASSERT_TRUE(listening_);
  streamed_ = pending_job("job-2");
  std::atomic<bool> done{false};
  std::vector<ServerSentEvent> events;
  std::thread client([&] {
    events = read_event_stream(url_, 20);
    done = true;
  });
  ASSERT_TRUE(run_loop_until([&] { return streams_.in_use() == 1; }, 10));
  run_loop_for(2.5 * kKeepAliveSeconds);  // keep-alives meanwhile
  EXPECT_TRUE(scheduler_->remove("job-2"));
  run_loop_until([&] { return done.load(); }, 10);
  client.join();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event, "status");
  EXPECT_NE(events[0].data.find("\"queue_position\":1"), std::string::npos) << events[0].data;
  EXPECT_EQ(events[1].event, "deleted");
  EXPECT_TRUE(run_loop_until([&] { return streams_.in_use() == 0; }, 5));
}

}  // namespace
}  // namespace demucs::testing
