// The job stores: one contract, checked against SQLite and against a real
// PostgreSQL that the test starts (postgres_server.h). What goes in comes
// out, in queue order; a claim gives each job to one node; leases hold,
// expire and are taken back; removals hand each job to one caller. Then what
// only one of them does: SQLite's migrations, PostgreSQL's notifications,
// its schema made once by nodes starting together, and its lost connection.
#include "job_store.h"
#include "postgres_job_store.h"
#include "sqlite_job_store.h"

#include "postgres_server.h"
#include "support/scratch_directory.h"

#include <glib.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <mutex>
#include <thread>

namespace demucs {
namespace {

using testing::PostgresServer;

Job make_job(const std::string &id, std::int64_t created_at) {
  Job job;
  job.id = id;
  job.filename = "song " + id + ".mp3";
  job.stem = "vocals";
  job.format = "wav";
  job.created_at = created_at;
  job.input_path = "/data/jobs/" + id + "/input.mp3";
  job.output_path = "/data/jobs/" + id + "/output.wav";
  return job;
}

std::vector<std::string> ids_of(const std::vector<Job> &jobs) {
  std::vector<std::string> ids;
  for (const Job &job : jobs) ids.push_back(job.id);
  return ids;
}

// Runs the default main context until `condition` holds or `seconds` pass.
bool iterate_until(const std::function<bool()> &condition, double seconds) {
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(seconds * G_USEC_PER_SEC);
  while (!condition()) {
    if (g_get_monotonic_time() > deadline) return false;
    g_main_context_iteration(nullptr, FALSE);
    g_usleep(10000);
  }
  return true;
}

std::string fresh_database_name() {
  static int counter = 0;
  return "store_test_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
}

// --- The contract, for both ------------------------------------------------

class JobStoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      PostgresServer &server = PostgresServer::shared();
      ASSERT_TRUE(server.ok()) << server.problem();
      url_ = server.create_database(fresh_database_name());
    }
  }

  // A store on this test's database, as node `node` sees it.
  std::unique_ptr<JobStore> open(const std::string &node = "node-a") {
    if (GetParam() == "postgresql") return std::make_unique<PostgresJobStore>(url_, node);
    return std::make_unique<SqliteJobStore>(scratch_.file("jobs.sqlite3"));
  }

  testing::ScratchDirectory scratch_;
  std::string url_;
};

TEST_P(JobStoreContract, StoresAndFindsJobs) {
  auto store = open();
  Job a = make_job("a", 1000);
  store->insert(a);
  Job b = make_job("b", 2000);
  store->insert(b);
  EXPECT_LT(a.sequence, b.sequence);

  const std::optional<Job> found = store->find("b");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->filename, "song b.mp3");
  EXPECT_EQ(found->status, JobStatus::pending);
  EXPECT_EQ(found->created_at, 2000);
  EXPECT_EQ(found->output_path, "/data/jobs/b/output.wav");
  EXPECT_EQ(found->attempts, 0);
  EXPECT_FALSE(store->find("nope"));
  EXPECT_FALSE(store->find("' OR 1=1 --"));
  EXPECT_EQ(ids_of(store->recent(10)), (std::vector<std::string>{"b", "a"}));
  std::vector<std::string> all = store->ids();
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"a", "b"}));
}

TEST_P(JobStoreContract, ClaimsTakeTheOldestPendingJobOnce) {
  auto store = open();
  for (const char *id : {"1", "2", "3"}) {
    Job job = make_job(id, 10);
    store->insert(job);
  }
  EXPECT_EQ(store->pending_count(), 3);
  EXPECT_EQ(store->queue_position("3"), 3);

  const std::optional<Job> first = store->claim_next("node-a", 30);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, "1");
  EXPECT_EQ(first->status, JobStatus::processing);
  EXPECT_EQ(first->owner, "node-a");
  EXPECT_EQ(first->attempts, 1);
  EXPECT_GT(first->lease_until, g_get_real_time());
  EXPECT_EQ(store->claim_next("node-b", 30)->id, "2");
  EXPECT_EQ(store->queue_position("3"), 1);
  EXPECT_FALSE(store->queue_position("1"));
  EXPECT_EQ(store->pending_count(), 1);
  EXPECT_EQ(store->claim_next("node-a", 30)->id, "3");
  EXPECT_FALSE(store->claim_next("node-a", 30));
}

TEST_P(JobStoreContract, OnlyTheLeaseHolderWritesAJob) {
  auto store = open();
  Job job = make_job("j", 10);
  store->insert(job);
  Job claimed = *store->claim_next("node-a", 30);

  claimed.progress = 42.5;
  EXPECT_FALSE(store->update_state(claimed, "node-b"));
  EXPECT_TRUE(store->update_state(claimed, "node-a"));
  EXPECT_DOUBLE_EQ(store->find("j")->progress, 42.5);
  EXPECT_EQ(store->renew_leases("node-a", {"j", "unknown"}, 30), (std::vector<std::string>{"unknown"}));
  EXPECT_EQ(store->renew_leases("node-b", {"j"}, 30), (std::vector<std::string>{"j"}));

  claimed.status = JobStatus::error;
  claimed.error_message = "it's broken; \"quoted\"";
  claimed.finished_at = 5000;
  EXPECT_TRUE(store->update_state(claimed, "node-a"));
  const Job finished = *store->find("j");
  EXPECT_EQ(finished.status, JobStatus::error);
  EXPECT_EQ(finished.error_message, "it's broken; \"quoted\"");
  EXPECT_EQ(finished.finished_at, 5000);
  EXPECT_EQ(finished.owner, "");
  // Finished: nobody holds it any more.
  EXPECT_FALSE(store->update_state(claimed, "node-a"));
  EXPECT_EQ(store->renew_leases("node-a", {"j"}, 30), (std::vector<std::string>{"j"}));
}

TEST_P(JobStoreContract, AnExpiredLeaseSendsTheJobBackToTheQueue) {
  auto store = open();
  Job job = make_job("j", 10);
  store->insert(job);
  Job claimed = *store->claim_next("node-a", 1);
  EXPECT_EQ(store->requeue_expired(false), 0);  // still held
  g_usleep(1200 * 1000);
  EXPECT_EQ(store->requeue_expired(false), 1);
  EXPECT_EQ(store->find("j")->status, JobStatus::pending);
  // The node that lost it cannot write it, nor renew it.
  claimed.progress = 50;
  EXPECT_FALSE(store->update_state(claimed, "node-a"));
  EXPECT_EQ(store->renew_leases("node-a", {"j"}, 30), (std::vector<std::string>{"j"}));
  const Job again = *store->claim_next("node-b", 30);
  EXPECT_EQ(again.attempts, 2);
  EXPECT_EQ(again.owner, "node-b");
}

TEST_P(JobStoreContract, ReleaseAndRequeueOfEveryProcessingJob) {
  auto store = open();
  for (const char *id : {"1", "2"}) {
    Job job = make_job(id, 10);
    store->insert(job);
  }
  store->claim_next("node-a", 30);
  store->claim_next("node-a", 30);
  EXPECT_FALSE(store->release("1", "node-b"));
  EXPECT_TRUE(store->release("1", "node-a"));
  EXPECT_EQ(store->find("1")->status, JobStatus::pending);
  EXPECT_EQ(store->find("1")->progress, 0.0);
  EXPECT_EQ(store->requeue_expired(true), 1);  // "2", whatever its lease
  EXPECT_EQ(store->pending_count(), 2);
}

TEST_P(JobStoreContract, RemovalsHandEachJobToOneCaller) {
  auto store = open();
  for (const char *id : {"done-early", "done-late", "failed", "waiting"}) {
    Job job = make_job(id, 10);
    store->insert(job);
  }
  const std::pair<const char *, std::int64_t> endings[] = {{"done-early", 100}, {"done-late", 5000}, {"failed", 200}};
  for (const auto &[id, finished_at] : endings) {
    Job job = *store->claim_next("node-a", 30);
    ASSERT_EQ(job.id, id);
    job.status = std::string(id) == "failed" ? JobStatus::error : JobStatus::completed;
    job.finished_at = finished_at;
    ASSERT_TRUE(store->update_state(job, "node-a"));
  }
  std::vector<std::string> expired = ids_of(store->remove_finished_before(1000));
  std::sort(expired.begin(), expired.end());
  EXPECT_EQ(expired, (std::vector<std::string>{"done-early", "failed"}));
  EXPECT_TRUE(store->remove_finished_before(1000).empty());  // already taken
  ASSERT_TRUE(store->remove("waiting"));
  EXPECT_FALSE(store->remove("waiting"));
  EXPECT_EQ(ids_of(store->recent(10)), (std::vector<std::string>{"done-late"}));
}

TEST_P(JobStoreContract, SurvivesReopening) {
  {
    auto store = open();
    Job job = make_job("kept", 1);
    store->insert(job);
  }
  auto store = open();
  ASSERT_TRUE(store->find("kept"));
  EXPECT_EQ(store->find("kept")->filename, "song kept.mp3");
}

INSTANTIATE_TEST_SUITE_P(Stores, JobStoreContract, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

// --- SQLite only --------------------------------------------------------------

TEST(SqliteJobStore, ADatabaseOfAnOlderDaemonIsMigratedInPlace) {
  testing::ScratchDirectory scratch;
  const std::string path = scratch.file("jobs.sqlite3");
  {
    // The schema of version 1, as the first daemon wrote it.
    sqlite3 *db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE jobs (sequence INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, "
                           "filename TEXT NOT NULL, stem TEXT NOT NULL, format TEXT NOT NULL, status TEXT NOT NULL, "
                           "progress REAL NOT NULL DEFAULT 0, error_message TEXT NOT NULL DEFAULT '', "
                           "created_at INTEGER NOT NULL, input_path TEXT NOT NULL, output_path TEXT NOT NULL);"
                           "INSERT INTO jobs (id, filename, stem, format, status, progress, created_at, input_path, "
                           "output_path) VALUES ('old-done', 'a.wav', 'vocals', 'wav', 'completed', 100, 777, 'i', 'o');"
                           "INSERT INTO jobs (id, filename, stem, format, status, progress, created_at, input_path, "
                           "output_path) VALUES ('old-running', 'b.wav', 'vocals', 'wav', 'processing', 40, 888, 'i', "
                           "'o');",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  {
    SqliteJobStore store(path);
    EXPECT_EQ(store.find("old-done")->finished_at, 777);  // finished: counted from its creation
    EXPECT_EQ(store.find("old-running")->finished_at, 0);
    // Interrupted by the old daemon: back in the queue at the next start.
    EXPECT_EQ(store.requeue_expired(true), 1);
    Job running = *store.claim_next("new", 30);
    EXPECT_EQ(running.id, "old-running");
    EXPECT_EQ(running.attempts, 1);
    EXPECT_EQ(ids_of(store.remove_finished_before(1000)), (std::vector<std::string>{"old-done"}));
  }
  SqliteJobStore reopened(path);  // already migrated: nothing changes
  EXPECT_EQ(reopened.find("old-running")->owner, "new");
}

TEST(SqliteJobStore, WritesSurviveAPowerCut) {
  // synchronous=FULL (2): each commit is on the disk before the call
  // returns, so an upload answered with its job id keeps its job.
  testing::ScratchDirectory scratch;
  SqliteJobStore store(scratch.file("jobs.sqlite3"));
  EXPECT_EQ(store.synchronous_level(), 2);
}

TEST(SqliteJobStore, UnopenableDatabaseIsAClearError) {
  try {
    SqliteJobStore store("/nonexistent-folder/jobs.sqlite3");
    FAIL() << "opened a database in a missing folder";
  } catch (const JobStoreError &error) {
    EXPECT_NE(std::string(error.what()).find("/nonexistent-folder/jobs.sqlite3"), std::string::npos);
  }
}

TEST(JobStoreUrl, NamesTheStoreOrSaysWhatItTakes) {
  testing::ScratchDirectory scratch;
  EXPECT_STREQ(open_job_store("", scratch.path(), "n")->kind(), "sqlite");
  EXPECT_STREQ(open_job_store("sqlite:" + scratch.file("other.db"), scratch.path(), "n")->kind(), "sqlite");
  EXPECT_TRUE(g_file_test(scratch.file("other.db").c_str(), G_FILE_TEST_EXISTS));
  try {
    open_job_store("mysql://root:secret@db/jobs", scratch.path(), "n");
    FAIL() << "took a MySQL URL";
  } catch (const JobStoreError &error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("postgresql://"), std::string::npos) << message;
    EXPECT_EQ(message.find("secret"), std::string::npos) << "the password shows: " << message;
  }
  EXPECT_TRUE(is_postgresql_url("postgres://h/d"));
  EXPECT_FALSE(is_postgresql_url("sqlite:/x"));
}

// --- PostgreSQL only -------------------------------------------------------------

class PostgresJobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server().ok()) << server().problem();
    name_ = fresh_database_name();
    url_ = server().create_database(name_);
  }
  static PostgresServer &server() { return PostgresServer::shared(); }
  std::string name_;
  std::string url_;
};

TEST_F(PostgresJobStoreTest, NodesStartingTogetherMakeTheSchemaOnce) {
  std::vector<std::thread> nodes;
  std::atomic<int> failures{0};
  for (int i = 0; i < 6; ++i)
    nodes.emplace_back([&, i] {
      try {
        PostgresJobStore store(url_, "node-" + std::to_string(i));
        Job job = make_job("from-" + std::to_string(i), i);
        store.insert(job);
      } catch (const std::exception &) {
        ++failures;
      }
    });
  for (std::thread &node : nodes) node.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(server().query(name_, "SELECT count(*) FROM demucs_schema WHERE version = 1"), "1");
  EXPECT_EQ(server().query(name_, "SELECT count(*) FROM demucs_jobs"), "6");
  // A node starting later finds it made and changes nothing.
  PostgresJobStore later(url_, "later");
  EXPECT_EQ(server().query(name_, "SELECT count(*) FROM demucs_schema WHERE version = 1"), "1");
}

TEST_F(PostgresJobStoreTest, ClaimsFromManyNodesAtOnceTakeEachJobOnce) {
  {
    PostgresJobStore store(url_, "uploader");
    for (int i = 0; i < 60; ++i) {
      Job job = make_job("job-" + std::to_string(i), i);
      store.insert(job);
    }
  }
  std::mutex mutex;
  std::multiset<std::string> claimed;
  std::vector<std::thread> nodes;
  for (int i = 0; i < 4; ++i)
    nodes.emplace_back([&, i] {
      PostgresJobStore store(url_, "node-" + std::to_string(i));
      while (std::optional<Job> job = store.claim_next("node-" + std::to_string(i), 30)) {
        std::lock_guard<std::mutex> lock(mutex);
        claimed.insert(job->id);
      }
    });
  for (std::thread &node : nodes) node.join();
  EXPECT_EQ(claimed.size(), 60u);
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), 60u) << "a job was claimed twice";
}

TEST_F(PostgresJobStoreTest, OtherNodesHearOfEveryChangeButTheirOwn) {
  PostgresJobStore api(url_, "api");
  PostgresJobStore worker(url_, "worker");
  std::vector<JobChange> heard_by_worker, heard_by_api;
  worker.on_change([&](const JobChange &change) { heard_by_worker.push_back(change); });
  api.on_change([&](const JobChange &change) { heard_by_api.push_back(change); });

  Job job = make_job("j", 1);
  api.insert(job);
  ASSERT_TRUE(iterate_until([&] { return heard_by_worker.size() == 1; }, 5));
  EXPECT_EQ(heard_by_worker[0].id, "j");
  EXPECT_EQ(heard_by_worker[0].status, JobStatus::pending);

  Job running = *worker.claim_next("worker", 30);
  running.progress = 37;
  worker.update_state(running, "worker");
  worker.renew_leases("worker", {"j"}, 30);  // no change of state: not announced
  api.remove("j");
  ASSERT_TRUE(iterate_until([&] { return heard_by_api.size() == 2 && heard_by_worker.size() == 2; }, 5));
  g_usleep(200 * 1000);
  iterate_until([] { return false; }, 0.2);
  ASSERT_EQ(heard_by_api.size(), 2u);
  EXPECT_EQ(heard_by_api[0].status, JobStatus::processing);
  EXPECT_DOUBLE_EQ(heard_by_api[1].progress, 37);
  ASSERT_EQ(heard_by_worker.size(), 2u);
  EXPECT_TRUE(heard_by_worker[1].deleted);
}

TEST_F(PostgresJobStoreTest, ALostServerMakesCallsFailFastAndTheStoreReconnects) {
  PostgresJobStore store(url_, "node");
  std::vector<bool> connection_changes;
  store.on_connection([&](bool connected) { connection_changes.push_back(connected); });
  Job job = make_job("before", 1);
  store.insert(job);

  ASSERT_TRUE(server().stop());
  gint64 started = g_get_monotonic_time();
  EXPECT_THROW(store.pending_count(), JobStoreError);
  EXPECT_FALSE(store.connected());
  EXPECT_FALSE(store.last_error().empty());
  EXPECT_THROW(store.find("before"), JobStoreError);
  EXPECT_LT(g_get_monotonic_time() - started, 2 * G_USEC_PER_SEC) << "calls waited for the lost server";
  iterate_until([] { return false; }, 1.0);  // reconnection attempts fail meanwhile

  ASSERT_TRUE(server().start());
  ASSERT_TRUE(iterate_until([&] { return store.connected(); }, 10)) << store.last_error();
  EXPECT_EQ(store.pending_count(), 1);
  iterate_until([&] { return connection_changes.size() == 2; }, 2);
  EXPECT_EQ(connection_changes, (std::vector<bool>{false, true}));
}

TEST_F(PostgresJobStoreTest, ADatabaseThatStopsAnsweringHoldsACallSixSecondsAtMost) {
  // Through a proxy that then forwards nothing (the connection stays open,
  // no answer ever comes): libpq alone would wait for ever.
  testing::BlackholeProxy proxy(server().socket_path());
  ASSERT_GT(proxy.port(), 0);
  PostgresJobStore store(server().tcp_url(proxy.port(), name_), "node");
  ASSERT_TRUE(store.connected()) << store.last_error();
  Job job = make_job("before", 1);
  store.insert(job);
  proxy.blackhole();
  const gint64 started = g_get_monotonic_time();
  EXPECT_THROW(store.pending_count(), JobStoreError);
  const double seconds = (g_get_monotonic_time() - started) / 1e6;
  EXPECT_GT(seconds, 5.0);
  EXPECT_LT(seconds, 7.0);
  EXPECT_FALSE(store.connected());
  EXPECT_NE(store.last_error().find("no answer within 6 s"), std::string::npos) << store.last_error();
  // Later calls fail at once, and connecting again in the background
  // (unanswered too) never holds the loop.
  const gint64 again = g_get_monotonic_time();
  EXPECT_THROW(store.find("before"), JobStoreError);
  EXPECT_LT(g_get_monotonic_time() - again, G_USEC_PER_SEC / 10);
  gint64 longest_turn = 0;
  const gint64 until = g_get_monotonic_time() + 7 * G_USEC_PER_SEC;
  while (g_get_monotonic_time() < until) {
    const gint64 turn = g_get_monotonic_time();
    g_main_context_iteration(nullptr, FALSE);
    longest_turn = std::max(longest_turn, g_get_monotonic_time() - turn);
    g_usleep(10000);
  }
  EXPECT_LT(longest_turn, G_USEC_PER_SEC / 10) << "a reconnection attempt blocked the main loop";
  std::printf("[ figures ] blackholed database: a call gave up after %.2f s; longest main-loop turn while "
              "reconnecting %.1f ms\n",
              seconds, longest_turn / 1000.0);
}

TEST_F(PostgresJobStoreTest, NodesSayWhetherTheyCanRunJobsUntilTheirTimeRunsOut) {
  PostgresJobStore a(url_, "a");
  PostgresJobStore b(url_, "b");
  EXPECT_EQ(a.other_able_nodes("a"), 0);
  b.announce_node("b", true, 30);
  a.announce_node("a", true, 30);
  EXPECT_EQ(a.other_able_nodes("a"), 1);  // itself not counted
  b.announce_node("b", false, 30);         // its model is unavailable
  EXPECT_EQ(a.other_able_nodes("a"), 0);
  b.announce_node("b", true, 1);
  g_usleep(1200 * 1000);                  // and then it stops renewing
  EXPECT_EQ(a.other_able_nodes("a"), 0);
}

TEST_F(PostgresJobStoreTest, AWrongDatabaseIsAClearErrorAtStart) {
  try {
    PostgresJobStore store(server().url("no_such_database"), "node");
    FAIL() << "opened a database that does not exist";
  } catch (const JobStoreError &error) {
    EXPECT_NE(std::string(error.what()).find("no_such_database"), std::string::npos) << error.what();
  }
  EXPECT_THROW(PostgresJobStore("postgresql://[broken", "node"), JobStoreError);
}

}  // namespace
}  // namespace demucs
