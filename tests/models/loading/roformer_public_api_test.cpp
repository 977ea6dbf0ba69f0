// RoFormer models through the public API (demucs/demucs.h): load_model of a
// community-layout .ckpt with its YAML, separate() against the reference
// demix of the tiny fixtures (tests/data/roformer/, see
// ../shared/fixtures/roformer/README.md), the instrumental, the stems, the
// settings that apply to RoFormer models, errors, and Demucs unchanged.
#include "demucs/demucs.h"
#include "support/interleaved_audio.h"
#include "support/npy_file.h"
#include "support/scratch_directory.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/wav_file.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace demucs {
namespace {

using testing::interleaved;
using testing::planar_stereo;
using testing::read_npy;
using testing::read_wav;
using testing::snr_db;
using testing::test_data;

constexpr double kMinSnrDb = 80.0;

std::string checkpoint_of(const std::string& model) { return test_data("roformer/" + model + ".ckpt"); }

LoadOptions on_cpu() {
  LoadOptions options;
  options.device = "cpu";
  return options;
}

// The 6 s fixture mix, interleaved stereo.
std::vector<float> fixture_samples() { return interleaved(read_wav(test_data("mix.wav")).samples); }

class RoformerDemix : public ::testing::TestWithParam<std::string> {};

// The default config is the .yaml beside the .ckpt; separate() is the
// reference demix (chunk 2 s, num_overlap 2 from the YAML).
TEST_P(RoformerDemix, VocalsEqualTheReferenceDemix) {
  const LoadedModel model = load_model(checkpoint_of(GetParam()), "vocals", on_cpu());
  const std::vector<float> mix = fixture_samples();
  const std::vector<float> vocals = separate(model, mix.data(), static_cast<std::int64_t>(mix.size() / 2), 2);
  const at::Tensor expected = read_npy(test_data("roformer/" + GetParam() + ".demix.npy"));
  const at::Tensor out = planar_stereo(vocals);
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, out), kMinSnrDb);
}

// instrumental = mix - vocals, from the same pass as the vocals.
TEST_P(RoformerDemix, InstrumentalIsTheMixMinusTheVocals) {
  const LoadedModel model = load_model(checkpoint_of(GetParam()), std::vector<std::string>{}, on_cpu());
  ASSERT_EQ(model.stems(), (std::vector<std::string>{"vocals", "instrumental"}));
  StemStream stream(model, SeparatorOptions{});
  const std::vector<float> mix = fixture_samples();
  const auto frames = static_cast<std::int64_t>(mix.size() / 2);
  std::vector<std::vector<float>> stems(2);
  for (std::int64_t pos = 0; pos < frames; pos += 30000) {
    stream.push(mix.data() + 2 * pos, std::min<std::int64_t>(30000, frames - pos), 2);
    std::vector<std::vector<float>> done = stream.pull_stems();
    for (size_t i = 0; i < 2; ++i) stems[i].insert(stems[i].end(), done[i].begin(), done[i].end());
  }
  stream.finish();
  std::vector<std::vector<float>> rest = stream.pull_stems();
  for (size_t i = 0; i < 2; ++i) stems[i].insert(stems[i].end(), rest[i].begin(), rest[i].end());

  const at::Tensor vocals = read_npy(test_data("roformer/" + GetParam() + ".demix.npy"));
  const at::Tensor expected_instrumental = planar_stereo(mix) - vocals;
  ASSERT_EQ(stems[0].size(), mix.size());
  ASSERT_EQ(stems[1].size(), mix.size());
  EXPECT_GE(snr_db(vocals, planar_stereo(stems[0])), kMinSnrDb);
  EXPECT_GE(snr_db(expected_instrumental, planar_stereo(stems[1])), kMinSnrDb);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RoformerDemix, ::testing::Values("bs-tiny", "mel-tiny"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "bs-tiny" ? std::string("bs") : std::string("mel");
                         });

TEST(RoformerModel, ReportsItsSourcesRateChunkAndSharesTheNetwork) {
  const LoadedModel model = load_model(checkpoint_of("bs-tiny"), "instrumental", on_cpu());
  EXPECT_EQ(model.name(), checkpoint_of("bs-tiny"));
  EXPECT_EQ(model.stems(), (std::vector<std::string>{"instrumental"}));
  EXPECT_EQ(model.sources(), (std::vector<std::string>{"vocals"}));
  EXPECT_EQ(model.samplerate(), 44100);
  EXPECT_EQ(model.audio_channels(), 2);
  EXPECT_DOUBLE_EQ(model.segment_seconds(), 2.0);  // chunk_size 88200
  EXPECT_EQ(model.device(), "cpu");
  EXPECT_EQ(load_model(checkpoint_of("bs-tiny"), "vocals", on_cpu()).network_identity(), model.network_identity());
  EXPECT_NE(load_model(checkpoint_of("mel-tiny"), "vocals", on_cpu()).network_identity(), model.network_identity());
}

TEST(RoformerModel, AnExplicitConfigIsUsedWhateverTheCheckpointsName) {
  testing::ScratchDirectory directory;
  const std::string checkpoint = directory.file("renamed.ckpt");
  std::filesystem::copy_file(checkpoint_of("mel-tiny"), checkpoint);
  LoadOptions options = on_cpu();
  options.config = test_data("roformer/mel-tiny.yaml");
  const LoadedModel model = load_model(checkpoint, "vocals", options);
  const std::vector<float> mix = fixture_samples();
  const std::vector<float> vocals = separate(model, mix.data(), static_cast<std::int64_t>(mix.size() / 2), 2);
  EXPECT_GE(snr_db(read_npy(test_data("roformer/mel-tiny.demix.npy")), planar_stereo(vocals)), kMinSnrDb);
}

TEST(RoformerModel, SegmentReplacesTheChunkSize) {
  const LoadedModel model = load_model(checkpoint_of("bs-tiny"), "vocals", on_cpu());
  EXPECT_EQ(StemStream(model, SeparatorOptions{}).segment_frames(), 88200);
  SeparatorOptions options;
  options.segment = 1.0;
  StemStream stream(model, options);
  EXPECT_EQ(stream.segment_frames(), 44100);
  // 1 s chunks give another separation than the 2 s ones of the reference.
  const std::vector<float> mix = fixture_samples();
  const std::vector<float> vocals = separate(model, mix.data(), static_cast<std::int64_t>(mix.size() / 2), 2, options);
  ASSERT_EQ(vocals.size(), mix.size());
  EXPECT_LT(snr_db(read_npy(test_data("roformer/bs-tiny.demix.npy")), planar_stereo(vocals)), 60.0);
}

TEST(RoformerModel, NumOverlapDefaultsToTheConfigs) {
  const LoadedModel model = load_model(checkpoint_of("bs-tiny"), "vocals", on_cpu());
  const std::vector<float> mix = fixture_samples();
  const auto frames = static_cast<std::int64_t>(mix.size() / 2);
  SeparatorOptions two;
  two.num_overlap = 2;  // the YAML's
  SeparatorOptions four;
  four.num_overlap = 4;
  const at::Tensor expected = read_npy(test_data("roformer/bs-tiny.demix.npy"));
  EXPECT_GE(snr_db(expected, planar_stereo(separate(model, mix.data(), frames, 2, two))), kMinSnrDb);
  EXPECT_LT(snr_db(expected, planar_stereo(separate(model, mix.data(), frames, 2, four))), 60.0);
  // `overlap` is Demucs's setting: a RoFormer model ignores it.
  SeparatorOptions overlap;
  overlap.overlap = 0.75;
  EXPECT_GE(snr_db(expected, planar_stereo(separate(model, mix.data(), frames, 2, overlap))), kMinSnrDb);
}

TEST(RoformerErrors, ShiftsAreRefused) {
  const LoadedModel model = load_model(checkpoint_of("bs-tiny"), "vocals", on_cpu());
  SeparatorOptions options;
  options.shifts = 1;
  try {
    StemStream stream(model, options);
    FAIL() << "shifts accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("shifts"), std::string::npos) << e.what();
  }
}

TEST(RoformerErrors, AMissingConfigNamesTheFile) {
  testing::ScratchDirectory directory;
  const std::string checkpoint = directory.file("lonely.ckpt");
  std::filesystem::copy_file(checkpoint_of("bs-tiny"), checkpoint);
  try {
    load_model(checkpoint, "vocals", on_cpu());
    FAIL() << "loaded without a config";
  } catch (const ModelNotFoundError& e) {
    EXPECT_NE(std::string(e.what()).find(directory.file("lonely.yaml")), std::string::npos) << e.what();
  }
  LoadOptions options = on_cpu();
  options.config = directory.file("elsewhere.yaml");
  try {
    load_model(checkpoint, "vocals", options);
    FAIL() << "loaded with a missing config";
  } catch (const ModelNotFoundError& e) {
    EXPECT_NE(std::string(e.what()).find(options.config), std::string::npos) << e.what();
  }
}

TEST(RoformerErrors, AMissingCheckpointNamesIt) {
  try {
    load_model("/nonexistent/model.ckpt", "vocals", on_cpu());
    FAIL() << "loaded a missing checkpoint";
  } catch (const ModelNotFoundError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.ckpt"), std::string::npos) << e.what();
  }
}

TEST(RoformerErrors, AStemTheModelLacksListsTheValidOnes) {
  try {
    load_model(checkpoint_of("bs-tiny"), "drums", on_cpu());
    FAIL() << "loaded for drums";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("valid stems: vocals, instrumental"), std::string::npos) << e.what();
  }
}

TEST(RoformerErrors, AConfigThatDoesNotMatchTheCheckpointIsAnError) {
  LoadOptions options = on_cpu();
  options.config = test_data("roformer/mel-tiny.yaml");  // Mel's settings for the BS state dict
  EXPECT_THROW(load_model(checkpoint_of("bs-tiny"), "vocals", options), StateMismatchError);
}

// A Demucs checkpoint still loads as HTDemucs, with or without a config set.
TEST(RoformerDispatch, ADemucsCheckpointIsStillHtdemucs) {
  LoadOptions options = on_cpu();
  options.config = test_data("roformer/bs-tiny.yaml");
  EXPECT_EQ(load_model(test_data("htdemucs-tiny-4s.th"), "vocals", options).sources(),
            (std::vector<std::string>{"drums", "bass", "other", "vocals"}));
  const LoadedModel model = load_model(test_data("htdemucs-tiny-4s.th"), "vocals", on_cpu());
  EXPECT_EQ(model.sources(), (std::vector<std::string>{"drums", "bass", "other", "vocals"}));
  const std::vector<float> mix = fixture_samples();
  const std::vector<float> vocals = separate(model, mix.data(), static_cast<std::int64_t>(mix.size() / 2), 2);
  const at::Tensor expected = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"))[1];
  EXPECT_GE(snr_db(expected, planar_stereo(vocals)), kMinSnrDb);
}

}  // namespace
}  // namespace demucs
