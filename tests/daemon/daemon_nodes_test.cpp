// Several demucs-vocalsd nodes on one PostgreSQL (a throwaway server the
// test starts) and one data folder, on free loopback ports: the queue is
// shared and each job runs once; any node answers for any job; a node killed
// with SIGKILL loses its job to another once the lease ends; the database
// going away for 10 s degrades the nodes, and they recover.
#include "daemon_process.h"
#include "http_client.h"
#include "postgres_server.h"

#include "support/folder_listing.h"
#include "support/npy_file.h"
#include "support/scratch_directory.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/text_assertions.h"
#include "support/wav_file.h"

#include <ATen/ATen.h>
#include <glib.h>
#include <signal.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace demucs::testing {
namespace {

constexpr int kVocalsRow = 1;  // tiny-4s.apply.drums-vocals.npy holds [drums, vocals]
constexpr double kJobSeconds = 180;

class DaemonNodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server().ok()) << server().problem();
    database_name_ = "nodes_" + std::to_string(getpid()) + "_" + std::to_string(++counter_);
    url_ = server().create_database(database_name_);
  }

  static PostgresServer &server() { return PostgresServer::shared(); }
  std::string data_dir() const { return scratch_.file("data"); }

  // A node on the shared database and data folder.
  std::unique_ptr<DaemonProcess> start_node(const std::string &role, const std::string &name,
                                            std::vector<std::string> extra = {}) {
    std::vector<std::string> options = {"--database", url_, "--role", role, "--node-name", name};
    options.insert(options.end(), extra.begin(), extra.end());
    return std::make_unique<DaemonProcess>(data_dir(), options);
  }

  static std::string upload_to(const DaemonProcess &node, const std::string &path, const std::string &name) {
    const HttpResponse reply = upload_file(node.url(), path, name, {});
    EXPECT_EQ(reply.status, 200u) << reply.body << reply.transport_error;
    return reply.json_string("job_id");
  }

  static std::string status_of(const DaemonProcess &node, const std::string &id) {
    return http_get(node.url("status/" + id)).json_string("status");
  }

  static bool finished(const DaemonProcess &node, const std::string &id) {
    const std::string status = status_of(node, id);
    return status == "completed" || status == "error";
  }

  // The ids of the jobs whose worker a node's log says it started, with
  // how many times.
  static std::map<std::string, int> runs_in(const DaemonProcess &node) {
    std::map<std::string, int> runs;
    const std::string log = node.log();
    const std::regex started("job ([0-9a-f-]{36}): processing on node");
    for (auto match = std::sregex_iterator(log.begin(), log.end(), started); match != std::sregex_iterator();
         ++match)
      ++runs[(*match)[1]];
    return runs;
  }

  std::string long_mix(int times) const {
    return write_repeated_wav(test_data("mix.wav"), times, scratch_.file("long-mix.wav"));
  }

  ScratchDirectory scratch_;
  std::string database_name_;
  std::string url_;
  static inline int counter_ = 0;
};

TEST_F(DaemonNodesTest, TwelveUploadsOverThreeNodesEachRunOnceAndEveryNodeRunsSome) {
  std::vector<std::unique_ptr<DaemonProcess>> nodes;
  for (const char *name : {"node-a", "node-b", "node-c"}) nodes.push_back(start_node("all", name));
  for (const auto &node : nodes) ASSERT_FALSE(node->url().empty());

  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) ids.push_back(upload_to(*nodes[i % 3], test_data("mix.wav"), "mix.wav"));
  for (const std::string &id : ids)
    ASSERT_TRUE(wait_until([&] { return finished(*nodes[0], id); }, kJobSeconds)) << id;

  std::map<std::string, int> runs;
  for (const auto &node : nodes) {
    const std::map<std::string, int> here = runs_in(*node);
    EXPECT_FALSE(here.empty()) << "node " << node->url() << " ran no job; its log:\n" << node->log();
    for (const auto &[id, count] : here) runs[id] += count;
  }
  for (const std::string &id : ids) {
    EXPECT_EQ(runs[id], 1) << "job " << id << " ran " << runs[id] << " times";
    for (const auto &node : nodes) EXPECT_EQ(status_of(*node, id), "completed") << id;
  }
  EXPECT_EQ(server().query(database_name_, "SELECT max(attempts) FROM demucs_jobs"), "1");
}

TEST_F(DaemonNodesTest, QueuePositionsAreTheSameOnEveryNode) {
  // Two api nodes take uploads; no node runs anything yet.
  auto api_a = start_node("api", "api-a");
  auto api_b = start_node("api", "api-b");
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(upload_to(i % 2 ? *api_b : *api_a, test_data("mix.wav"), "mix.wav"));
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (const DaemonProcess *node : {api_a.get(), api_b.get()}) {
      const HttpResponse status = http_get(node->url("status/" + ids[i]));
      EXPECT_EQ(status.json_string("status"), "pending");
      EXPECT_EQ(status.json_number("queue_position"), static_cast<double>(i + 1)) << status.body;
    }
  const HttpResponse health = http_get(api_b->url("health"));
  EXPECT_EQ(health.json_string("role"), "api");
  EXPECT_EQ(health.json_string("status"), "ok") << health.body;
  EXPECT_EQ(health.json_number("jobs_pending"), 4.0);
  EXPECT_TRUE(contains(health.body, "\"kind\":\"postgresql\",\"connected\":true")) << health.body;

  // A worker node comes: it takes no uploads, and runs the queue in order.
  auto worker = start_node("worker", "worker-1");
  const HttpResponse refused = upload_file(worker->url(), test_data("mix.wav"), "mix.wav", {});
  EXPECT_EQ(refused.status, 503u);
  EXPECT_TRUE(contains(refused.body, "only runs jobs")) << refused.body;
  for (const std::string &id : ids) ASSERT_TRUE(wait_until([&] { return finished(*api_a, id); }, kJobSeconds));
  const std::string log = worker->log();
  std::vector<std::size_t> order;
  for (const std::string &id : ids) order.push_back(log.find("job " + id + ": processing"));
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end())) << log;
  EXPECT_TRUE(runs_in(*api_a).empty() && runs_in(*api_b).empty()) << "an api node ran a job";
}

TEST_F(DaemonNodesTest, UploadToOneEventsFromAnotherDownloadFromAThird) {
  auto node_a = start_node("api", "a");
  auto node_b = start_node("api", "b");
  auto node_c = start_node("worker", "c");
  const std::string id = upload_to(*node_a, test_data("mix.wav"), "mix.wav");

  // Node b streams the progress of a job that runs on node c.
  std::vector<double> progress;
  std::vector<std::string> states;
  read_event_stream(node_b->url("events/" + id), kJobSeconds, [&](const ServerSentEvent &event) {
    HttpResponse as_json;
    as_json.body = event.data;
    if (event.event != "status") return;
    progress.push_back(as_json.json_number("progress"));
    states.push_back(as_json.json_string("status"));
  });
  ASSERT_FALSE(states.empty());
  EXPECT_EQ(states.back(), "completed");
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  EXPECT_GE(std::set<double>(progress.begin(), progress.end()).size(), 3u) << "no progress came across nodes";

  const HttpResponse from_c = http_get(node_c->url("download/" + id));
  const HttpResponse from_a = http_get(node_a->url("download/" + id));
  ASSERT_EQ(from_c.status, 200u);
  EXPECT_EQ(from_c.body, from_a.body);
  const std::string saved = scratch_.file("vocals.wav");
  write_file_bytes(saved, from_c.body);
  const at::Tensor upstream = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"))[kVocalsRow];
  EXPECT_GE(snr_db(upstream, read_wav(saved).samples), 80.0);
}

TEST_F(DaemonNodesTest, AJobOfAKilledNodeRunsElsewhereAfterItsLease) {
  auto api = start_node("api", "api");
  auto doomed = start_node("worker", "doomed", {"--job-lease", "3"});
  const std::string id = upload_to(*api, long_mix(15), "long.wav");
  ASSERT_TRUE(wait_until([&] { return contains(doomed->log(), "job " + id + ": processing"); }, 60));
  auto survivor = start_node("worker", "survivor", {"--job-lease", "3"});
  ASSERT_TRUE(wait_until([&] { return http_get(api->url("status/" + id)).json_number("progress") >= 1; }, 60));
  const gint64 killed_at = g_get_monotonic_time();
  doomed->kill();  // its worker follows it (PR_SET_PDEATHSIG)

  ASSERT_TRUE(wait_until([&] { return contains(survivor->log(), "job " + id + ": processing on node survivor"); },
                         30))
      << survivor->log();
  const double takeover_seconds = (g_get_monotonic_time() - killed_at) / 1e6;
  EXPECT_LT(takeover_seconds, 15) << "the lease is 3 s";
  ASSERT_TRUE(wait_until([&] { return finished(*api, id); }, kJobSeconds));
  const HttpResponse status = http_get(api->url("status/" + id));
  EXPECT_EQ(status.json_string("status"), "completed") << status.body;
  EXPECT_TRUE(contains(survivor->log(), "(attempt 2)"));
  std::printf("[ figures ] a killed node's job ran again elsewhere %.1f s after the kill (lease 3 s)\n",
              takeover_seconds);

  // Nothing half-written: the result is whole, no .partial is left.
  for (const std::string &file : files_below(data_dir()))
    EXPECT_EQ(file.find(".partial"), std::string::npos) << file;
  const HttpResponse download = http_get(api->url("download/" + id));
  ASSERT_EQ(download.status, 200u);
  write_file_bytes(scratch_.file("out.wav"), download.body);
  const at::Tensor input = read_wav(long_mix(15)).samples;
  EXPECT_EQ(read_wav(scratch_.file("out.wav")).samples.size(1), input.size(1));
}

TEST_F(DaemonNodesTest, TenSecondsWithoutTheDatabaseDegradeTheNodesAndTheyRecover) {
  auto api = start_node("api", "api");
  auto worker_1 = start_node("worker", "w1");
  auto worker_2 = start_node("worker", "w2");
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(upload_to(*api, long_mix(4), "song.wav"));
  ASSERT_TRUE(wait_until([&] { return contains(worker_1->log() + worker_2->log(), ": processing on node"); }, 60));

  ASSERT_TRUE(server().stop());
  for (const DaemonProcess *node : {api.get(), worker_1.get(), worker_2.get()}) {
    EXPECT_TRUE(wait_until([&] { return http_get(node->url("health")).json_string("status") == "degraded"; }, 8))
        << http_get(node->url("health")).body;
    EXPECT_TRUE(contains(http_get(node->url("health")).body, "\"connected\":false"));
  }
  const HttpResponse refused = upload_file(api->url(), test_data("mix.wav"), "mix.wav", {});
  EXPECT_EQ(refused.status, 503u);
  EXPECT_TRUE(contains(refused.body, "database")) << refused.body;
  EXPECT_EQ(http_get(api->url("status/" + ids[0])).status, 503u);
  g_usleep(10 * G_USEC_PER_SEC - 8 * G_USEC_PER_SEC / 10);
  ASSERT_TRUE(server().start());

  for (const DaemonProcess *node : {api.get(), worker_1.get(), worker_2.get()})
    EXPECT_TRUE(wait_until([&] { return http_get(node->url("health")).json_string("status") == "ok"; }, 15))
        << http_get(node->url("health")).body;
  for (const std::string &id : ids) {
    ASSERT_TRUE(wait_until([&] { return finished(*api, id); }, kJobSeconds)) << id;
    const HttpResponse status = http_get(api->url("status/" + id));
    if (status.json_string("status") == "error")
      EXPECT_FALSE(status.json_string("error_message").empty()) << status.body;
    else
      EXPECT_EQ(status.json_string("status"), "completed");
  }
  for (const DaemonProcess *node : {api.get(), worker_1.get(), worker_2.get()})
    EXPECT_FALSE(node->pid().empty()) << "a node died; its log:\n" << node->log();
  // Work goes on: a new upload completes.
  const std::string after = upload_to(*api, test_data("mix.wav"), "mix.wav");
  EXPECT_TRUE(wait_until([&] { return status_of(*api, after) == "completed"; }, kJobSeconds));
}

TEST_F(DaemonNodesTest, TwoNodesStartingAtOnceOnAnEmptyDatabaseMakeTheSchemaOnce) {
  auto first = std::async(std::launch::async, [&] { return start_node("all", "first"); });
  auto second = std::async(std::launch::async, [&] { return start_node("all", "second"); });
  auto a = first.get();
  auto b = second.get();
  ASSERT_FALSE(a->url().empty());
  ASSERT_FALSE(b->url().empty());
  EXPECT_EQ(server().query(database_name_, "SELECT count(*) FROM demucs_schema WHERE version = 1"), "1");
  EXPECT_EQ(contains(a->log(), "schema version 1 made") + contains(b->log(), "schema version 1 made"), 1);
}

TEST_F(DaemonNodesTest, ANodeWithoutItsModelLeavesTheQueueToNodesThatHaveIt) {
  auto api = start_node("api", "api");
  auto broken = start_node("worker", "broken", {"--model", scratch_.file("missing.th"), "--job-lease", "3"});
  ASSERT_TRUE(wait_until([&] { return contains(http_get(broken->url("health")).body, "unavailable"); }, 60));
  // No other node can run jobs now: still, the broken one fails none.
  const std::string id = upload_to(*api, test_data("mix.wav"), "mix.wav");
  g_usleep(3 * G_USEC_PER_SEC);  // six heartbeats of the broken node
  EXPECT_EQ(status_of(*api, id), "pending");
  EXPECT_TRUE(contains(broken->log(), "this node takes no jobs: the model is unavailable")) << broken->log();
  auto able = start_node("worker", "able");
  ASSERT_TRUE(wait_until([&] { return finished(*api, id); }, kJobSeconds));
  EXPECT_EQ(status_of(*api, id), "completed");
  EXPECT_TRUE(runs_in(*broken).empty());
}

// The worker processes whose command line names `path` (a job's attempt folder).
std::string workers_writing_to(const std::string &path) {
  g_autofree gchar *out = nullptr;
  g_spawn_command_line_sync(("pgrep -f -- " + path + "/").c_str(), &out, nullptr, nullptr, nullptr);
  return out ? out : "";
}

TEST_F(DaemonNodesTest, ANodeCutOffFromTheDatabaseFencesItselfAndTheNextAttemptWritesElsewhere) {
  // The node reaches PostgreSQL through a proxy that then stops forwarding
  // (no answer, no reset): every libpq call it makes from then on would wait.
  BlackholeProxy proxy(server().socket_path());
  ASSERT_GT(proxy.port(), 0);
  auto api = start_node("api", "api");
  auto cut_off = std::make_unique<DaemonProcess>(
      data_dir(), std::vector<std::string>{"--database", server().tcp_url(proxy.port(), database_name_), "--role",
                                           "worker", "--node-name", "cut-off", "--job-lease", "3"});
  ASSERT_FALSE(cut_off->url().empty()) << cut_off->log();
  const std::string id = upload_to(*api, long_mix(15), "long.wav");
  const std::string first_attempt = data_dir() + "/jobs/" + id + "/attempt-1";
  ASSERT_TRUE(wait_until([&] { return !workers_writing_to(first_attempt).empty(); }, 60)) << cut_off->log();
  ASSERT_TRUE(wait_until([&] { return http_get(api->url("status/" + id)).json_number("progress") >= 1; }, 60));

  proxy.blackhole();
  const gint64 cut_at = g_get_monotonic_time();
  ASSERT_TRUE(wait_until([&] { return workers_writing_to(first_attempt).empty(); }, 15)) << cut_off->log();
  const double fenced_after = (g_get_monotonic_time() - cut_at) / 1e6;
  // Fenced 2/3 of the lease after its last renewal (renewals every 0.5 s),
  // before the lease ends and another node may claim the job.
  EXPECT_LT(fenced_after, 2.6) << cut_off->log();
  EXPECT_TRUE(contains(cut_off->log(), "job " + id + ": lease not renewed for")) << cut_off->log();

  auto survivor = start_node("worker", "survivor", {"--job-lease", "3"});
  const std::string second_attempt = data_dir() + "/jobs/" + id + "/attempt-2";
  ASSERT_TRUE(wait_until([&] { return !workers_writing_to(second_attempt).empty(); }, 30)) << survivor->log();
  ASSERT_TRUE(wait_until([&] { return finished(*api, id); }, kJobSeconds)) << survivor->log();
  EXPECT_EQ(status_of(*api, id), "completed");
  EXPECT_TRUE(contains(survivor->log(), "(attempt 2)")) << survivor->log();
  // The cut-off node lived through it, its main loop never held for long.
  EXPECT_FALSE(cut_off->pid().empty()) << cut_off->log();
  const gint64 asked_at = g_get_monotonic_time();
  EXPECT_EQ(http_get(cut_off->url("health")).status, 200u);
  const double health_seconds = (g_get_monotonic_time() - asked_at) / 1e6;
  EXPECT_LT(health_seconds, 7.0);
  std::printf("[ figures ] database blackholed: worker fenced after %.2f s (lease 3 s); /health of the cut-off "
              "node answered in %.2f s\n",
              fenced_after, health_seconds);
  const HttpResponse download = http_get(api->url("download/" + id));
  ASSERT_EQ(download.status, 200u);
  write_file_bytes(scratch_.file("out.wav"), download.body);
  EXPECT_EQ(read_wav(scratch_.file("out.wav")).samples.size(1), read_wav(long_mix(15)).samples.size(1));
  for (const std::string &file : files_below(data_dir()))
    EXPECT_EQ(file.find(".partial"), std::string::npos) << file;
}

TEST_F(DaemonNodesTest, AFrozenNodesAttemptAndTheNextOneNeverShareOrRemoveEachOthersFiles) {
  auto api = start_node("api", "api");
  auto frozen = start_node("worker", "frozen", {"--job-lease", "3"});
  const std::string id = upload_to(*api, long_mix(40), "long.wav");
  const std::string first_attempt = data_dir() + "/jobs/" + id + "/attempt-1";
  ASSERT_TRUE(wait_until([&] { return !workers_writing_to(first_attempt).empty(); }, 60)) << frozen->log();
  // The node stops dead (SIGSTOP: a paused VM, a stuck host): its worker, in a
  // process group of its own, goes on writing; its lease ends.
  kill(std::stoi(frozen->pid()), SIGSTOP);
  auto other = start_node("worker", "other", {"--job-lease", "3"});
  const std::string second_attempt = data_dir() + "/jobs/" + id + "/attempt-2";
  ASSERT_TRUE(wait_until([&] { return !workers_writing_to(second_attempt).empty(); }, 30)) << other->log();
  // Both attempts run at once, each in its own folder: the new one removed
  // nothing of the old one.
  EXPECT_FALSE(workers_writing_to(first_attempt).empty());
  EXPECT_FALSE(files_below(first_attempt).empty());
  kill(std::stoi(frozen->pid()), SIGCONT);
  // Awake, the node fences its worker at once (its lease is long gone) and
  // records nothing.
  EXPECT_TRUE(wait_until([&] { return workers_writing_to(first_attempt).empty(); }, 5)) << frozen->log();
  ASSERT_TRUE(wait_until([&] { return finished(*api, id); }, kJobSeconds)) << other->log();
  EXPECT_EQ(status_of(*api, id), "completed");
  EXPECT_TRUE(contains(other->log(), "(attempt 2)"));
  EXPECT_EQ(server().query(database_name_, "SELECT output_path FROM demucs_jobs WHERE id = '" + id + "'"),
            second_attempt + "/output.wav");
  const HttpResponse download = http_get(api->url("download/" + id));
  ASSERT_EQ(download.status, 200u);
  write_file_bytes(scratch_.file("out.wav"), download.body);
  EXPECT_EQ(read_wav(scratch_.file("out.wav")).samples.size(1), read_wav(long_mix(40)).samples.size(1));
}

}  // namespace
}  // namespace demucs::testing
