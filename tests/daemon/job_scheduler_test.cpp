// The job scheduler on its own, with the SQLite store and a stand-in worker
// (a shell script that reports progress as the real worker does): what is
// hard to make happen at a chosen moment with the real program. A job
// stopped from inside its own progress event (a full disk, a lost lease);
// the cap on attempts; recovery retried while uploads arrive; the lease
// watchdog's fencing.
#include "disk_space.h"
#include "folder_removal.h"
#include "job_scheduler.h"
#include "lease_watchdog.h"
#include "sqlite_job_store.h"

#include "support/scratch_directory.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <string>

namespace demucs {
namespace {

// Runs the default main context until `condition` holds or `seconds` pass.
bool iterate_until(const std::function<bool()> &condition, double seconds) {
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(seconds * G_USEC_PER_SEC);
  while (!condition()) {
    if (g_get_monotonic_time() > deadline) return false;
    g_main_context_iteration(nullptr, FALSE);
    g_usleep(5000);
  }
  return true;
}

// Runs the main context for `seconds`.
void iterate_for(double seconds) {
  iterate_until([] { return false; }, seconds);
}

void write_text(const std::string &path, const std::string &text) {
  std::ofstream file(path, std::ios::binary);
  file << text;
}

class JobSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_mkdir_with_parents(jobs_dir().c_str(), 0700);
    // A worker that reports a progress step every 50 ms (1..100 %), then done.
    write_text(worker_program(),
               "#!/bin/sh\n"
               "echo '{\"event\":\"started\"}'\n"
               "i=1\n"
               "while [ $i -le 100 ]; do\n"
               "  echo \"{\\\"event\\\":\\\"progress\\\",\\\"percent\\\":$i}\"\n"
               "  i=$((i+1)); sleep 0.05\n"
               "done\n"
               "echo '{\"event\":\"done\"}'\n");
    g_chmod(worker_program().c_str(), 0755);
    store_ = std::make_unique<SqliteJobStore>(database());
  }

  std::string data_dir() const { return scratch_.file("data"); }
  std::string jobs_dir() const { return data_dir() + "/jobs"; }
  std::string database() const { return scratch_.file("jobs.sqlite3"); }
  std::string worker_program() const { return scratch_.file("worker.sh"); }

  SchedulerSettings settings() const {
    SchedulerSettings settings;
    settings.data_dir = data_dir();
    settings.model = "test";
    settings.device = "cpu";
    settings.worker_program = worker_program();
    settings.node = "node-test";
    return settings;
  }

  // A job with its folder and input, as an upload leaves it.
  Job make_job(const std::string &id) const {
    Job job;
    job.id = id;
    job.filename = "song.wav";
    job.stem = "vocals";
    job.format = "wav";
    job.created_at = g_get_real_time();
    const std::string folder = jobs_dir() + "/" + id;
    g_mkdir_with_parents(folder.c_str(), 0700);
    job.input_path = folder + "/input.wav";
    job.output_path = folder + "/output.wav";
    write_text(job.input_path, "RIFF");
    return job;
  }

  std::string status_of(const JobScheduler &scheduler, const std::string &id) const {
    const std::optional<Job> job = scheduler.find(id);
    return job ? job_status_name(job->status) : "gone";
  }

  testing::ScratchDirectory scratch_;
  std::unique_ptr<SqliteJobStore> store_;
};

TEST_F(JobSchedulerTest, AFullDiskNoticedAtAProgressEventEndsTheJobAndNothingElse) {
  // Less free space than this disk could ever have: the guard stops each
  // job at its first progress event, from inside that event's callback.
  DiskSpace disk(data_dir(), std::numeric_limits<std::int64_t>::max() / 4);
  JobScheduler scheduler(*store_, disk, settings());
  ASSERT_TRUE(scheduler.recover());
  scheduler.set_model_state(true, "");
  Job first = make_job("11111111-1111-1111-1111-111111111111");
  Job second = make_job("22222222-2222-2222-2222-222222222222");
  scheduler.submit(first);
  scheduler.submit(second);
  ASSERT_TRUE(iterate_until([&] { return status_of(scheduler, second.id) == "error"; }, 20))
      << status_of(scheduler, first.id) << " " << status_of(scheduler, second.id);
  for (const Job &job : {first, second}) {
    const Job ended = *scheduler.find(job.id);
    EXPECT_EQ(job_status_name(ended.status), std::string("error"));
    EXPECT_NE(ended.error_message.find("disk full"), std::string::npos) << ended.error_message;
    // Its upload stays (until it expires); nothing of another job went.
    EXPECT_TRUE(g_file_test(job.input_path.c_str(), G_FILE_TEST_IS_REGULAR)) << job.input_path;
  }
  EXPECT_EQ(scheduler.running_count(), 0);
  iterate_for(0.2);  // the killed workers are destroyed from the main loop
}

TEST_F(JobSchedulerTest, ALeaseLostAtAProgressEventStopsTheJobAndKeepsItsFiles) {
  DiskSpace disk(data_dir(), 0);
  JobScheduler scheduler(*store_, disk, settings());
  ASSERT_TRUE(scheduler.recover());
  scheduler.set_model_state(true, "");
  Job job = make_job("33333333-3333-3333-3333-333333333333");
  Job waiting = make_job("44444444-4444-4444-4444-444444444444");
  scheduler.submit(job);
  ASSERT_TRUE(iterate_until([&] { return scheduler.find(job.id)->progress >= 2; }, 20));
  scheduler.submit(waiting);
  // Another node takes the job over (as PostgreSQL would once the lease
  // ended): the next whole percent this node stores is refused.
  sqlite3 *db = nullptr;
  ASSERT_EQ(sqlite3_open(database().c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  ASSERT_EQ(sqlite3_exec(db, ("UPDATE jobs SET owner = 'another-node' WHERE id = '" + job.id + "'").c_str(), nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ASSERT_TRUE(iterate_until([&] { return status_of(scheduler, waiting.id) != "pending"; }, 20));
  // The job still exists (the other node runs it): its folder stays, as
  // does every other.
  EXPECT_EQ(store_->find(job.id)->owner, "another-node");
  EXPECT_TRUE(g_file_test(job.input_path.c_str(), G_FILE_TEST_IS_REGULAR));
  EXPECT_TRUE(g_file_test(waiting.input_path.c_str(), G_FILE_TEST_IS_REGULAR));
  EXPECT_TRUE(g_file_test(jobs_dir().c_str(), G_FILE_TEST_IS_DIR));
  ASSERT_TRUE(iterate_until([&] { return status_of(scheduler, waiting.id) == "completed"; }, 20));
}

TEST_F(JobSchedulerTest, AJobInterruptedMaxAttemptsTimesEndsInErrorSayingSo) {
  Job job = make_job("55555555-5555-5555-5555-555555555555");
  store_->insert(job);
  // Three runs, each cut short: the node died, and its next start (or
  // another node) put the job back in the queue.
  for (int run = 0; run < 3; ++run) {
    ASSERT_TRUE(store_->claim_next("dead-node", 30));
    ASSERT_EQ(store_->requeue_expired(true), 1);
  }
  DiskSpace disk(data_dir(), 0);
  SchedulerSettings capped = settings();
  capped.max_attempts = 3;
  JobScheduler scheduler(*store_, disk, capped);
  ASSERT_TRUE(scheduler.recover());
  scheduler.set_model_state(true, "");
  ASSERT_TRUE(iterate_until([&] { return status_of(scheduler, job.id) == "error"; }, 10));
  const Job ended = *store_->find(job.id);
  EXPECT_NE(ended.error_message.find("started 3 times and each run was interrupted"), std::string::npos)
      << ended.error_message;
  EXPECT_GT(ended.finished_at, 0);
  // A job below the cap runs.
  Job fresh = make_job("66666666-6666-6666-6666-666666666666");
  store_->insert(fresh);
  ASSERT_TRUE(store_->claim_next("dead-node", 30));
  ASSERT_EQ(store_->requeue_expired(true), 1);
  scheduler.set_model_state(true, "");  // looks at the queue again
  EXPECT_TRUE(iterate_until([&] { return status_of(scheduler, fresh.id) == "completed"; }, 20));
}

TEST_F(JobSchedulerTest, RecoveryRetriedWhileAnUploadArrivesLeavesItsFolder) {
  // A folder no job owns, from before this daemon started: a leftover.
  const std::string leftover = jobs_dir() + "/leftover";
  g_mkdir_with_parents(leftover.c_str(), 0700);
  const utimbuf an_hour_ago{time(nullptr) - 3600, time(nullptr) - 3600};
  ASSERT_EQ(utime(leftover.c_str(), &an_hour_ago), 0);
  DiskSpace disk(data_dir(), 0);
  JobScheduler scheduler(*store_, disk, settings());
  // The store cannot be written at start (another writer holds it: as a
  // full disk would), so recovery is tried again later...
  sqlite3 *db = nullptr;
  ASSERT_EQ(sqlite3_open(database().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_FALSE(scheduler.recover());
  // ...and meanwhile an upload is being received: its folder has no job yet.
  const std::string arriving = jobs_dir() + "/arriving";
  g_mkdir_with_parents(arriving.c_str(), 0700);
  write_text(arriving + "/input.wav.partial", "RIFF");
  ASSERT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_TRUE(scheduler.recover());
  wait_for_background_removals();  // leftovers are removed off the main loop
  EXPECT_TRUE(g_file_test((arriving + "/input.wav.partial").c_str(), G_FILE_TEST_IS_REGULAR));
  EXPECT_FALSE(g_file_test(leftover.c_str(), G_FILE_TEST_EXISTS));
}

// A child process (its own process group, as a worker's) that sleeps.
GPid start_sleeper() {
  const gchar *argv[] = {"sh", "-c", "sleep 30", nullptr};
  GPid pid = 0;
  g_spawn_async(nullptr, const_cast<gchar **>(argv), nullptr,
                static_cast<GSpawnFlags>(G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD),
                [](gpointer) { setpgid(0, 0); }, nullptr, &pid, nullptr);
  return pid;
}

// Whether `pid` has ended (reaps it then).
bool ended(GPid pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == pid;
}

TEST(LeaseWatchdog, KillsAWorkerWhoseLeaseWasNotRenewedFor2ThirdsOfItAndOnlyThat) {
  LeaseWatchdog watchdog(3);  // fences after 2 s without a renewal
  const GPid stale = start_sleeper();
  const gint64 started = g_get_monotonic_time();
  watchdog.watch("stale", stale);
  gint64 killed_after = 0;
  while (killed_after == 0 && g_get_monotonic_time() - started < 4 * G_USEC_PER_SEC) {
    if (ended(stale)) killed_after = g_get_monotonic_time() - started;
    g_usleep(10000);
  }
  EXPECT_GE(killed_after, 2 * G_USEC_PER_SEC - 50000);
  EXPECT_LT(killed_after, 2 * G_USEC_PER_SEC + 300000);
  EXPECT_TRUE(watchdog.fenced("stale"));
  watchdog.forget("stale");

  // Renewed every 0.5 s, a worker lives on; forgotten, it is not watched.
  const GPid kept = start_sleeper();
  watchdog.watch("kept", kept);
  for (int i = 0; i < 8; ++i) {
    g_usleep(G_USEC_PER_SEC / 2);
    watchdog.renewed(g_get_monotonic_time());
  }
  EXPECT_FALSE(ended(kept));
  EXPECT_FALSE(watchdog.fenced("kept"));
  watchdog.forget("kept");
  g_usleep(3 * G_USEC_PER_SEC);
  EXPECT_FALSE(ended(kept));
  kill(kept, SIGKILL);
  waitpid(kept, nullptr, 0);
}

}  // namespace
}  // namespace demucs
