// The SQLite job store: what goes in comes out, in queue order, and survives
// reopening; interrupted jobs go back to the queue.
#include "job_store.h"

#include "support/scratch_directory.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

namespace demucs {
namespace {

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

TEST(JobStore, StoresAndFindsJobs) {
  testing::ScratchDirectory scratch;
  JobStore store(scratch.file("jobs.sqlite3"));
  Job a = make_job("a", 1000);
  store.insert(a);
  Job b = make_job("b", 2000);
  store.insert(b);
  EXPECT_LT(a.sequence, b.sequence);

  b.status = JobStatus::error;
  b.progress = 42.5;
  b.error_message = "it's broken; \"quoted\"";
  store.update_state(b);

  const std::optional<Job> found = store.find("b");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->filename, "song b.mp3");
  EXPECT_EQ(found->status, JobStatus::error);
  EXPECT_DOUBLE_EQ(found->progress, 42.5);
  EXPECT_EQ(found->error_message, "it's broken; \"quoted\"");
  EXPECT_EQ(found->created_at, 2000);
  EXPECT_EQ(found->output_path, "/data/jobs/b/output.wav");
  EXPECT_FALSE(store.find("nope"));
  EXPECT_FALSE(store.find("' OR 1=1 --"));

  store.remove("a");
  EXPECT_FALSE(store.find("a"));
}

TEST(JobStore, PendingInUploadOrderAndRecentNewestFirst) {
  testing::ScratchDirectory scratch;
  JobStore store(scratch.file("jobs.sqlite3"));
  for (const char *id : {"1", "2", "3", "4"}) {
    Job job = make_job(id, 10);
    store.insert(job);
  }
  Job second = *store.find("2");
  second.status = JobStatus::processing;
  store.update_state(second);

  std::vector<std::string> pending;
  for (const Job &job : store.pending()) pending.push_back(job.id);
  EXPECT_EQ(pending, (std::vector<std::string>{"1", "3", "4"}));
  EXPECT_EQ(store.pending_count(), 3);
  std::vector<std::string> recent;
  for (const Job &job : store.recent(3)) recent.push_back(job.id);
  EXPECT_EQ(recent, (std::vector<std::string>{"4", "3", "2"}));
}

TEST(JobStore, SurvivesReopeningAndRequeuesInterruptedJobs) {
  testing::ScratchDirectory scratch;
  {
    JobStore store(scratch.file("jobs.sqlite3"));
    Job done = make_job("done", 1);
    store.insert(done);
    done.status = JobStatus::completed;
    done.progress = 100;
    store.update_state(done);
    Job running = make_job("running", 2);
    store.insert(running);
    running.status = JobStatus::processing;
    running.progress = 60;
    store.update_state(running);
    Job waiting = make_job("waiting", 3);
    store.insert(waiting);
  }
  JobStore store(scratch.file("jobs.sqlite3"));
  EXPECT_EQ(store.requeue_interrupted(), 1);
  EXPECT_EQ(store.find("done")->status, JobStatus::completed);
  const Job running = *store.find("running");
  EXPECT_EQ(running.status, JobStatus::pending);
  EXPECT_EQ(running.progress, 0.0);
  std::vector<std::string> pending;
  for (const Job &job : store.pending()) pending.push_back(job.id);
  EXPECT_EQ(pending, (std::vector<std::string>{"running", "waiting"}));
  EXPECT_TRUE(store.finished_before(1 << 30).empty());  // "done" never said when it finished
}

TEST(JobStore, ExpiryCountsFromWhenAJobFinished) {
  testing::ScratchDirectory scratch;
  JobStore store(scratch.file("jobs.sqlite3"));
  Job old_but_late = make_job("created-early-finished-late", 1);
  store.insert(old_but_late);
  old_but_late.status = JobStatus::completed;
  old_but_late.finished_at = 5000;
  store.update_state(old_but_late);
  Job failed = make_job("failed-early", 2);
  store.insert(failed);
  failed.status = JobStatus::error;
  failed.finished_at = 100;
  store.update_state(failed);
  Job waiting = make_job("still-waiting", 3);
  store.insert(waiting);

  EXPECT_EQ(store.find("created-early-finished-late")->finished_at, 5000);
  EXPECT_EQ(store.find("still-waiting")->finished_at, 0);
  std::vector<std::string> expired;
  for (const Job &job : store.finished_before(1000)) expired.push_back(job.id);
  EXPECT_EQ(expired, (std::vector<std::string>{"failed-early"}));
  EXPECT_EQ(store.finished_before(6000).size(), 2u);
}

TEST(JobStore, ADatabaseWithoutFinishedAtIsMigratedInPlace) {
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
                           "output_path) VALUES ('old-waiting', 'b.wav', 'vocals', 'wav', 'pending', 0, 888, 'i', 'o');",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  {
    JobStore store(path);
    EXPECT_EQ(store.find("old-done")->finished_at, 777);  // finished: counted from its creation
    EXPECT_EQ(store.find("old-waiting")->finished_at, 0);
    EXPECT_EQ(store.finished_before(1000).size(), 1u);
    Job done = *store.find("old-waiting");
    done.status = JobStatus::completed;
    done.finished_at = 999;
    store.update_state(done);
  }
  JobStore reopened(path);  // already migrated: nothing changes
  EXPECT_EQ(reopened.find("old-done")->finished_at, 777);
  EXPECT_EQ(reopened.find("old-waiting")->finished_at, 999);
  EXPECT_EQ(reopened.finished_before(1000).size(), 2u);
}

TEST(JobStore, UnopenableDatabaseIsAClearError) {
  try {
    JobStore store("/nonexistent-folder/jobs.sqlite3");
    FAIL() << "opened a database in a missing folder";
  } catch (const JobStoreError &error) {
    EXPECT_NE(std::string(error.what()).find("/nonexistent-folder/jobs.sqlite3"), std::string::npos);
  }
}

}  // namespace
}  // namespace demucs
