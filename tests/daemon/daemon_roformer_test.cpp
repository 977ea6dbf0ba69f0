// demucs-vocalsd with a RoFormer model (--model X.ckpt --config X.yaml): the
// real program on a free loopback port with the tiny BS-RoFormer fixture
// (tests/data/roformer/); its job's WAV against the reference demix.
#include "daemon_process.h"
#include "http_client.h"

#include "support/npy_file.h"
#include "support/scratch_directory.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/text_assertions.h"
#include "support/wav_file.h"

#include <ATen/ATen.h>
#include <glib.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace demucs::testing {
namespace {

constexpr double kJobSeconds = 120;  // the longest a tiny-model job may take here

class DaemonRoformerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }

  // The checkpoint under a name whose default config (renamed.yaml) does not
  // exist: only --config, passed on to every worker, makes it load.
  std::string renamed_checkpoint() const {
    const std::string path = scratch_.file("renamed.ckpt");
    if (!std::filesystem::exists(path)) std::filesystem::copy_file(test_data("roformer/bs-tiny.ckpt"), path);
    return path;
  }

  static std::string status_of(const DaemonProcess& daemon, const std::string& id) {
    return http_get(daemon.url("status/" + id)).json_string("status");
  }

  ScratchDirectory scratch_;
};

TEST_F(DaemonRoformerTest, AJobWithModelAndConfigGivesTheReferenceVocals) {
  DaemonProcess daemon(scratch_.file("data"),
                       {"--model", renamed_checkpoint(), "--config", test_data("roformer/bs-tiny.yaml")});
  ASSERT_FALSE(daemon.url().empty()) << daemon.log();
  const HttpResponse upload = upload_file(daemon.url(), test_data("mix.wav"), "mix.wav", {});
  ASSERT_EQ(upload.status, 200u) << upload.body << upload.transport_error;
  const std::string id = upload.json_string("job_id");
  ASSERT_TRUE(wait_until([&] { return status_of(daemon, id) == "completed" || status_of(daemon, id) == "error"; },
                         kJobSeconds));
  ASSERT_EQ(status_of(daemon, id), "completed") << http_get(daemon.url("status/" + id)).body << daemon.log();

  const HttpResponse download = http_get(daemon.url("download/" + id));
  ASSERT_EQ(download.status, 200u);
  const std::string saved = scratch_.file("vocals.wav");
  write_file_bytes(saved, download.body);
  const at::Tensor vocals = read_wav(saved).samples;
  const at::Tensor expected = read_npy(test_data("roformer/bs-tiny.demix.npy"));
  ASSERT_EQ(vocals.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, vocals), 80.0);
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(DaemonRoformerTest, WithoutItsConfigTheModelIsUnavailableAndTheLogNamesTheFile) {
  DaemonProcess daemon(scratch_.file("data"), {"--model", renamed_checkpoint()});
  ASSERT_FALSE(daemon.url().empty()) << daemon.log();
  ASSERT_TRUE(wait_until([&] { return http_get(daemon.url("health")).json_string("model_state") == "unavailable"; },
                         kJobSeconds))
      << http_get(daemon.url("health")).body;
  EXPECT_TRUE(contains(daemon.log(), "renamed.yaml"));
  EXPECT_EQ(daemon.stop(), 0);
}

}  // namespace
}  // namespace demucs::testing
