#include "loading/stem_model.h"

#include "registry/model_cache.h"
#include "support/test_data.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace demucs {
namespace {

using testing::test_data;

TEST(StemModel, ASourceOfACheckpointFile) {
  const StemModel m = load_stem_model(test_data("htdemucs-tiny-6s.th"), "guitar", at::kCPU);
  EXPECT_EQ(m.sources, (std::vector<std::string>{"drums", "bass", "other", "vocals", "guitar", "piano"}));
  EXPECT_EQ(m.separate, (std::vector<std::string>{"guitar"}));
  EXPECT_FALSE(m.sum_sources);
  ASSERT_EQ(m.bag.size(), 1u);
  EXPECT_EQ(m.samplerate, 44100);
  EXPECT_EQ(m.audio_channels, 2);
  EXPECT_DOUBLE_EQ(m.segment_seconds, 3.0);
}

TEST(StemModel, InstrumentalIsTheSumOfEveryOtherSource) {
  const StemModel m = load_stem_model(test_data("htdemucs-tiny-4s.th"), "instrumental", at::kCPU);
  EXPECT_EQ(m.separate, (std::vector<std::string>{"drums", "bass", "other"}));
  EXPECT_TRUE(m.sum_sources);
}

TEST(StemModel, UnknownStemListsTheValidOnes) {
  try {
    load_stem_model(test_data("htdemucs-tiny-4s.th"), "guitar", at::kCPU);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("valid stems: drums, bass, other, vocals, instrumental"), std::string::npos)
        << e.what();
  }
}

TEST(StemModel, TwoRequestsShareOneLoadedModel) {
  const StemModel a = load_stem_model(test_data("htdemucs-tiny-4s.th"), "vocals", at::kCPU);
  const StemModel b = load_stem_model(test_data("htdemucs-tiny-4s.th"), "drums", at::kCPU);
  EXPECT_EQ(a.bag.front().model.get(), b.bag.front().model.get());
}

TEST(StemModel, AKnownModelNotInTheCacheSaysHowToGetIt) {
  // DEMUCS_VOCALS_CACHE points at an empty folder of the build tree.
  try {
    load_stem_model("htdemucs_ft", "vocals", at::kCPU);
    FAIL() << "no error";
  } catch (const ModelNotFoundError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("demucs-vocals fetch htdemucs_ft"), std::string::npos) << message;
    EXPECT_NE(message.find("04573f0d-f3cf25b2.th"), std::string::npos) << message;   // the vocals member
    EXPECT_EQ(message.find("f7e0c4bc-ba3fe64a.th"), std::string::npos) << message;   // not the drums one
  }
}

}  // namespace
}  // namespace demucs
