// The daemon's side of starting a worker: the environment it gets
// (worker_environment.h) and the child's setup between fork and exec
// (worker_child_setup.h), here a daemon that dies before the child has set
// its death signal.
#include "worker_child_setup.h"
#include "worker_environment.h"
#include "worker_process.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include <string>
#include <vector>

namespace demucs {
namespace {

TEST(WorkerEnvironment, KeepsNoSecretsOfTheDaemon) {
  const std::vector<std::string> daemon = {
      "PATH=/usr/bin",
      "HOME=/var/lib/demucs-vocals",
      "GST_PLUGIN_PATH=/opt/plugins",
      "OMP_WAIT_POLICY=PASSIVE",
      "DEMUCS_VOCALS_CACHE=/var/cache/demucs-vocals",
      "CUDA_VISIBLE_DEVICES=0",
      "LANG=C.UTF-8",
      "PGPASSWORD=hunter2",
      "PGHOST=db.example",
      "PGPASSFILE=/etc/demucs/pgpass",
      "PGSERVICEFILE=/etc/demucs/pg_service.conf",
      "DEMUCS_VOCALSD_DATABASE=postgresql://demucs:hunter2@db.example/demucs",
      "DEMUCS_VOCALSD_API_TOKEN=0123456789abcdef",
      "DEMUCS_VOCALSD_PORT=8000",
      "DATABASE_URL=postgresql://x",
      "AWS_SECRET_ACCESS_KEY=abc",
      "GITHUB_TOKEN=abc",
      "SOME_API_KEY=abc",
      "NOTIFY_SOCKET=/run/systemd/notify",
      "LISTEN_FDS=1",
  };
  EXPECT_EQ(worker_environment(daemon),
            (std::vector<std::string>{"PATH=/usr/bin", "HOME=/var/lib/demucs-vocals", "GST_PLUGIN_PATH=/opt/plugins",
                                      "OMP_WAIT_POLICY=PASSIVE", "DEMUCS_VOCALS_CACHE=/var/cache/demucs-vocals",
                                      "CUDA_VISIBLE_DEVICES=0", "LANG=C.UTF-8"}));
  EXPECT_TRUE(withheld_from_workers("pgpassword")) << "names in any case";
  EXPECT_FALSE(withheld_from_workers("KEYBOARD"));
}

// The exit status of a worker's child started by a stand-in daemon (a
// process forked here) that exits right after the fork (`daemon_dies_first`)
// or waits for it. Without the check after PR_SET_PDEATHSIG, the orphan
// would go on (status 0), a worker nobody reads and no signal ever ends.
int worker_child_exit(bool daemon_dies_first) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);  // the orphan comes to this test, to be reaped
  int child_pid[2];
  EXPECT_EQ(pipe(child_pid), 0);
  const pid_t daemon = fork();
  if (daemon == 0) {
    const pid_t me = getpid();
    const pid_t child = fork();
    if (child == 0) {
      if (daemon_dies_first)
        while (getppid() == me) usleep(1000);  // until it is gone and this child adopted
      set_up_worker_child(WorkerChildSetup{WorkerLimits{}, me});
      _exit(0);
    }
    if (write(child_pid[1], &child, sizeof child) != sizeof child) _exit(98);
    if (daemon_dies_first) _exit(0);
    int status = 0;
    waitpid(child, &status, 0);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 97);
  }
  pid_t child = 0;
  EXPECT_EQ(read(child_pid[0], &child, sizeof child), static_cast<ssize_t>(sizeof child));
  close(child_pid[0]);
  close(child_pid[1]);
  int status = 0;
  EXPECT_EQ(waitpid(daemon, &status, 0), daemon);
  int result = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (daemon_dies_first) {
    EXPECT_EQ(waitpid(child, &status, 0), child);
    result = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  prctl(PR_SET_CHILD_SUBREAPER, 0);
  return result;
}

TEST(WorkerChildSetup, AChildWhoseDaemonDiedBeforeItsDeathSignalEnds) {
  EXPECT_EQ(worker_child_exit(true), kOrphanedWorkerExit);
  EXPECT_EQ(worker_child_exit(false), 0) << "with its daemon alive it goes on";
}

// A worker that takes longer than --stall-timeout to start (loading
// LibTorch in several workers at once on a busy machine) is not a stall;
// after its first report the stall timeout applies.
TEST(WorkerProcess, StartingIsNotAStallButSilenceAfterwardsIs) {
  WorkerProcess worker({"/bin/sh", "-c", "sleep 2; echo '{\"event\":\"started\"}'; sleep 30"},
                       WorkerLimits{0, 0, 0, /*stall_seconds=*/1, 0});
  g_autoptr(GMainLoop) loop = g_main_loop_new(nullptr, FALSE);
  WorkerOutcome outcome;
  std::string error;
  const gint64 start = g_get_monotonic_time();
  ASSERT_TRUE(worker.start([](JsonObject *) {},
                           [&](const WorkerOutcome &ended) {
                             outcome = ended;
                             g_main_loop_quit(loop);
                           },
                           error))
      << error;
  g_main_loop_run(loop);
  const double seconds = (g_get_monotonic_time() - start) / 1e6;
  EXPECT_EQ(outcome.kind, "stalled");
  EXPECT_EQ(outcome.message, "the separation made no progress for 1 s and was stopped");
  EXPECT_GE(seconds, 3.0) << "stopped while it was starting, or its stall timer fired early";
  EXPECT_LT(seconds, 10.0);
}

}  // namespace
}  // namespace demucs
