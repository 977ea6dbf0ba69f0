// The known models: names, URLs as upstream Demucs builds them
// (ROOT_URL + root from remote/files.txt + file name), sha256 prefixes, bag
// weights from remote/*.yaml, and which bag members a set of stems needs.
#include "registry/model_registry.h"

#include "registry/file_sha256.h"

#include <glib.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace demucs {
namespace {

const std::vector<std::string> kFourSources = {"drums", "bass", "other", "vocals"};

TEST(ModelRegistry, KnowsTheHybridTransformerModelsThenTheRoformersInOrder) {
  ASSERT_EQ(known_models().size(), 7u);
  EXPECT_EQ(known_models()[0].name, "htdemucs");
  EXPECT_EQ(known_models()[1].name, "htdemucs_ft");
  EXPECT_EQ(known_models()[2].name, "htdemucs_6s");
  EXPECT_EQ(known_model_names(),
            "htdemucs, htdemucs_ft, htdemucs_6s, bs_roformer_317, mel_roformer_kj, mel_roformer_3005, "
            "bs_roformer_937");
  for (std::size_t i = 0; i < known_models().size(); ++i) {
    EXPECT_EQ(known_models()[i].architecture,
              i < 3 ? ModelArchitecture::htdemucs : ModelArchitecture::roformer)
        << known_models()[i].name;
  }
  EXPECT_EQ(find_known_model("htdemucs_ft"), &known_models()[1]);
  EXPECT_EQ(find_known_model("mdx_extra"), nullptr);
  EXPECT_EQ(find_known_model(""), nullptr);
}

TEST(ModelRegistry, HtdemucsIsOneCheckpointWithUnitWeights) {
  const KnownModel &model = *find_known_model("htdemucs");
  EXPECT_EQ(model.sources, kFourSources);
  ASSERT_EQ(model.files.size(), 1u);
  EXPECT_EQ(model.files[0].file_name, "955717e8-8726e21a.th");
  EXPECT_EQ(model.files[0].sha256_prefix, "8726e21a");
  EXPECT_EQ(model.files[0].url_under(kOfficialModelRoot),
            "https://dl.fbaipublicfiles.com/demucs/hybrid_transformer/955717e8-8726e21a.th");
  EXPECT_EQ(model.weights, (std::vector<std::vector<double>>{{1, 1, 1, 1}}));
}

TEST(ModelRegistry, HtdemucsFtIsABagOfFourWithOneHotWeights) {
  const KnownModel &model = *find_known_model("htdemucs_ft");
  EXPECT_EQ(model.sources, kFourSources);
  const std::vector<std::string> names = {"f7e0c4bc-ba3fe64a.th", "d12395a8-e57c48e6.th",
                                          "92cfc3b6-ef3bcb9c.th", "04573f0d-f3cf25b2.th"};
  const std::vector<std::string> prefixes = {"ba3fe64a", "e57c48e6", "ef3bcb9c", "f3cf25b2"};
  ASSERT_EQ(model.files.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(model.files[i].file_name, names[i]);
    EXPECT_EQ(model.files[i].sha256_prefix, prefixes[i]);
    EXPECT_EQ(model.files[i].url_under(kOfficialModelRoot),
              "https://dl.fbaipublicfiles.com/demucs/hybrid_transformer/" + names[i]);
  }
  EXPECT_EQ(model.weights, (std::vector<std::vector<double>>{
                               {1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}));
}

TEST(ModelRegistry, Htdemucs6sHasSixSources) {
  const KnownModel &model = *find_known_model("htdemucs_6s");
  EXPECT_EQ(model.sources,
            (std::vector<std::string>{"drums", "bass", "other", "vocals", "guitar", "piano"}));
  ASSERT_EQ(model.files.size(), 1u);
  EXPECT_EQ(model.files[0].file_name, "5c90dfd2-34c22ccb.th");
  EXPECT_EQ(model.files[0].sha256_prefix, "34c22ccb");
  EXPECT_EQ(model.files[0].url_under(kOfficialModelRoot),
            "https://dl.fbaipublicfiles.com/demucs/hybrid_transformer/5c90dfd2-34c22ccb.th");
  EXPECT_EQ(model.weights, (std::vector<std::vector<double>>{{1, 1, 1, 1, 1, 1}}));
}

TEST(ModelRegistry, Sha256PrefixIsTheHexAfterTheDashAsTorchHubReadsIt) {
  EXPECT_EQ(sha256_prefix_in_file_name("955717e8-8726e21a.th"), "8726e21a");
  EXPECT_EQ(sha256_prefix_in_file_name("a-b-c0ffee.th"), "c0ffee");
  EXPECT_EQ(sha256_prefix_in_file_name("nohash.th"), "");
}

TEST(ModelRegistry, DownloadRootIsOfficialUnlessTheEnvironmentSaysOtherwise) {
  g_unsetenv(kModelRootEnvVar);
  EXPECT_EQ(model_download_root(), "https://dl.fbaipublicfiles.com/demucs/");
  const ModelFile &file = find_known_model("htdemucs")->files[0];
  EXPECT_EQ(file.url(),
            "https://dl.fbaipublicfiles.com/demucs/hybrid_transformer/955717e8-8726e21a.th");

  g_setenv(kModelRootEnvVar, "http://127.0.0.1:9/mirror", TRUE);
  EXPECT_EQ(model_download_root(), "http://127.0.0.1:9/mirror/");
  EXPECT_EQ(file.url(), "http://127.0.0.1:9/mirror/hybrid_transformer/955717e8-8726e21a.th");

  g_setenv(kModelRootEnvVar, "", TRUE);
  EXPECT_EQ(model_download_root(), kOfficialModelRoot);
  g_unsetenv(kModelRootEnvVar);
}

TEST(ModelRegistry, VocalsOfTheFineTunedBagNeedOnlyTheFourthModel) {
  const KnownModel &model = *find_known_model("htdemucs_ft");
  EXPECT_EQ(members_needed(model, {"vocals"}), (std::vector<std::size_t>{3}));
  EXPECT_EQ(members_needed(model, {"drums", "vocals"}), (std::vector<std::size_t>{0, 3}));
  EXPECT_EQ(members_needed(model, {"vocals", "bass"}), (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(members_needed(model, {}), (std::vector<std::size_t>{0, 1, 2, 3}));
}

TEST(ModelRegistry, ASingleModelIsNeededForAnyStem) {
  EXPECT_EQ(members_needed(*find_known_model("htdemucs"), {"vocals"}),
            (std::vector<std::size_t>{0}));
  EXPECT_EQ(members_needed(*find_known_model("htdemucs_6s"), {"piano"}),
            (std::vector<std::size_t>{0}));
}

TEST(ModelRegistry, AStemTheModelLacksIsRejectedWithItsSources) {
  const KnownModel &model = *find_known_model("htdemucs");
  EXPECT_EQ(source_index(model, "other"), 2u);
  try {
    members_needed(model, {"piano"});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument &error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("piano"), std::string::npos) << message;
    EXPECT_NE(message.find("drums, bass, other, vocals"), std::string::npos) << message;
  }
}

TEST(ModelRegistry, MembersWithZeroWeightForEveryRequestedStemAreSkipped) {
  KnownModel bag{"test_bag", "", {"a", "b"}, {{"m1-00.th", "m1-00.th", "00"}, {"m2-11.th", "m2-11.th", "11"}},
                 {{0.5, 0.0}, {0.5, 2.0}}};
  EXPECT_EQ(members_needed(bag, {"a"}), (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(members_needed(bag, {"b"}), (std::vector<std::size_t>{1}));
}

// --- The community RoFormer checkpoints -----------------------------------------

// A file in tests/data/ (DEMUCS_TEST_DATA, set by meson).
std::string test_data_file(const std::string &name) {
  const char *folder = g_getenv("DEMUCS_TEST_DATA");
  return std::string(folder != nullptr ? folder : "tests/data") + "/" + name;
}

TEST(ModelRegistry, BsRoformer317IsTheViperxCheckpointAndItsConfigurationWhereTheyArePublished) {
  g_unsetenv(kModelRootEnvVar);
  const KnownModel &model = *find_known_model("bs_roformer_317");
  EXPECT_EQ(model.architecture, ModelArchitecture::roformer);
  EXPECT_EQ(model.sources, std::vector<std::string>{"vocals"});
  ASSERT_EQ(model.files.size(), 2u) << "the checkpoint, then its YAML configuration";
  EXPECT_EQ(model.files[0].file_name, "model_bs_roformer_ep_317_sdr_12.9755.ckpt");
  EXPECT_EQ(model.files[0].url(),
            "https://github.com/TRvlvr/model_repo/releases/download/all_public_uvr_models/"
            "model_bs_roformer_ep_317_sdr_12.9755.ckpt");
  EXPECT_EQ(model.files[0].sha256_prefix, "") << "none published: trusted on first download";
  EXPECT_EQ(model.files[1].file_name, "model_bs_roformer_ep_317_sdr_12.9755.yaml");
  EXPECT_EQ(model.files[1].url(),
            "https://raw.githubusercontent.com/ZFTurbo/Music-Source-Separation-Training/"
            "ccc011abf7f89dd7922bb2888d48493b575c0289/configs/viperx/model_bs_roformer_ep_317_sdr_12.9755.yaml");
  EXPECT_EQ(model.weights, (std::vector<std::vector<double>>{{1}})) << "one row: the checkpoint's";
}

TEST(ModelRegistry, MelRoformerKjComesFromHuggingFace) {
  g_unsetenv(kModelRootEnvVar);
  const KnownModel &model = *find_known_model("mel_roformer_kj");
  EXPECT_EQ(model.files[0].url(),
            "https://huggingface.co/KimberleyJSN/melbandroformer/resolve/main/MelBandRoformer.ckpt");
  EXPECT_EQ(model.files[0].file_name, "MelBandRoformer.ckpt");
  EXPECT_EQ(model.files[1].file_name, "config_vocals_mel_band_roformer_kj.yaml");
  EXPECT_EQ(find_known_model("bs_roformer_937")->sources, std::vector<std::string>{"other"});
}

// The configurations are pinned to one commit of the reference repository,
// whose content the test data holds: their sha256 is the one registered.
TEST(ModelRegistry, EachRoformerConfigurationsSha256IsThatOfThePinnedFile) {
  int checked = 0;
  for (const KnownModel &model : known_models()) {
    if (model.architecture != ModelArchitecture::roformer) continue;
    const ModelFile &config = model.files.at(1);
    SCOPED_TRACE(config.file_name);
    EXPECT_EQ(config.sha256_prefix.size(), 64u);
    EXPECT_EQ(file_sha256_hex(test_data_file("roformer/community/" + config.file_name)), config.sha256_prefix);
    ++checked;
  }
  EXPECT_EQ(checked, 4);
}

TEST(ModelRegistry, TheMirrorVariableReplacesTheCommunityRootsToo) {
  g_setenv(kModelRootEnvVar, "http://127.0.0.1:9/mirror", TRUE);
  const KnownModel &model = *find_known_model("bs_roformer_317");
  EXPECT_EQ(model.files[0].url(),
            "http://127.0.0.1:9/mirror/TRvlvr/model_repo/releases/download/all_public_uvr_models/"
            "model_bs_roformer_ep_317_sdr_12.9755.ckpt");
  g_unsetenv(kModelRootEnvVar);
}

TEST(ModelRegistry, ARoformerNeedsItsOneCheckpointForItsSource) {
  const KnownModel &model = *find_known_model("mel_roformer_kj");
  EXPECT_EQ(members_needed(model, {"vocals"}), (std::vector<std::size_t>{0}));
  EXPECT_EQ(members_needed(model, {}), (std::vector<std::size_t>{0}));
  EXPECT_THROW(members_needed(model, {"drums"}), std::invalid_argument);
}

}  // namespace
}  // namespace demucs
