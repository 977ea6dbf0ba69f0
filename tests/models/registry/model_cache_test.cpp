// The model cache: its folder, sha256 checks, and resolving a model spec to
// files (paths as given, known names to verified cached files, clear errors).
#include "registry/file_sha256.h"
#include "registry/model_cache.h"

#include "fake_htdemucs_checkpoint.h"
#include "scoped_environment_variable.h"
#include "temporary_folder.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include <string>

namespace demucs {
namespace {

// sha256("abc"), FIPS 180-2 appendix B.1.
constexpr const char *kAbcSha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

::testing::AssertionResult contains(const std::string &text, const std::string &part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << part << "\" not found in:\n" << text;
}

std::string sha256_of(const std::string &content) {
  gchar *hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
                                           reinterpret_cast<const guchar *>(content.data()),
                                           content.size());
  std::string result = hex;
  g_free(hex);
  return result;
}

TEST(ModelCacheFolder, ComesFromTheEnvironmentVariable) {
  ScopedEnvironmentVariable cache(kModelCacheEnvVar, std::string("/srv/models/demucs"));
  EXPECT_EQ(default_model_cache_folder(), "/srv/models/demucs");
  EXPECT_EQ(ModelCache::from_environment().folder(), "/srv/models/demucs");
}

TEST(ModelCacheFolder, DefaultsToTheUserCacheFolder) {
  ScopedEnvironmentVariable cache(kModelCacheEnvVar, std::nullopt);
  const std::string expected = std::string(g_get_user_cache_dir()) + "/demucs-vocals";
  EXPECT_EQ(default_model_cache_folder(), expected);
  ScopedEnvironmentVariable empty(kModelCacheEnvVar, std::string());
  EXPECT_EQ(default_model_cache_folder(), expected);
}

TEST(FileSha256, IsStreamedOverBlocksAndMatchesTheWholeContent) {
  TemporaryFolder folder;
  EXPECT_EQ(file_sha256_hex(folder.write("abc", "abc")), kAbcSha256);
  // Larger than one read block, not a multiple of it.
  std::string large(3 * (1 << 20) + 12345, '\0');
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 31 + i / 977);
  EXPECT_EQ(file_sha256_hex(folder.write("large", large)), sha256_of(large));
  EXPECT_EQ(file_sha256_hex(folder.write("empty", "")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_THROW(file_sha256_hex(folder.file("absent")), std::runtime_error);
}

TEST(FileSha256, PrefixCheckAcceptsOnlyTheRightPrefix) {
  TemporaryFolder folder;
  const std::string path = folder.write("abc", "abc");
  EXPECT_TRUE(file_has_sha256_prefix(path, "ba7816bf"));
  EXPECT_TRUE(file_has_sha256_prefix(path, "BA7816BF8F"));
  EXPECT_TRUE(file_has_sha256_prefix(path, kAbcSha256));
  EXPECT_FALSE(file_has_sha256_prefix(path, "ba7816bf00"));
  EXPECT_FALSE(file_has_sha256_prefix(path, "8726e21a"));
  EXPECT_FALSE(file_has_sha256_prefix(path, ""));
  EXPECT_FALSE(sha256_hex_has_prefix("ba78", "ba7816"));
}

TEST(ModelCacheResolve, AnExistingPathIsUsedAsIs) {
  TemporaryFolder folder;
  const ModelCache cache(folder.path());
  for (const std::string name : {"mine.th", "exported.checkpoint"}) {
    const std::string path = folder.write(name, "not checked");
    const ResolvedModel model = cache.resolve(path);
    EXPECT_EQ(model.name, path);
    EXPECT_EQ(model.files, std::vector<std::string>{path});
    ASSERT_EQ(model.weights.size(), 1u);
    EXPECT_TRUE(model.weights[0].empty()) << "one member, weight 1 for every source";
    EXPECT_TRUE(model.sources.empty()) << "the checkpoint knows its sources";
  }
}

TEST(ModelCacheResolve, AMissingPathIsAnErrorNamingIt) {
  TemporaryFolder folder;
  const ModelCache cache(folder.path());
  const std::string missing = folder.file("absent.th");
  try {
    cache.resolve(missing);
    FAIL() << "expected ModelNotFoundError";
  } catch (const ModelNotFoundError &error) {
    EXPECT_TRUE(contains(error.what(), missing));
    EXPECT_TRUE(contains(error.what(), "does not exist"));
  }
  g_mkdir(folder.file("folder.th").c_str(), 0755);
  try {
    cache.resolve(folder.file("folder.th"));
    FAIL() << "expected ModelNotFoundError";
  } catch (const ModelNotFoundError &error) {
    EXPECT_TRUE(contains(error.what(), "is not a regular file"));
  }
}

TEST(ModelCacheResolve, AnUnknownNameListsTheKnownOnes) {
  TemporaryFolder folder;
  const ModelCache cache(folder.path());
  try {
    cache.resolve("htdemucs_xl");
    FAIL() << "expected UnknownModelError";
  } catch (const UnknownModelError &error) {
    EXPECT_TRUE(contains(error.what(), "unknown model \"htdemucs_xl\""));
    EXPECT_TRUE(contains(error.what(), "htdemucs, htdemucs_ft, htdemucs_6s"));
  }
  EXPECT_THROW(cache.resolve("htdemucs_xl"), ModelNotFoundError) << "a kind of not found";
}

TEST(ModelCacheResolve, AMissingCachedFileSaysWhereToGetItAndWhereToPutIt) {
  ScopedEnvironmentVariable root(kModelRootEnvVar, std::nullopt);
  TemporaryFolder folder;
  const ModelCache cache(folder.path());
  try {
    cache.resolve("htdemucs");
    FAIL() << "expected ModelNotFoundError";
  } catch (const ModelNotFoundError &error) {
    EXPECT_TRUE(contains(error.what(), "model htdemucs"));
    EXPECT_TRUE(contains(error.what(), "955717e8-8726e21a.th is missing"));
    EXPECT_TRUE(contains(
        error.what(),
        "https://dl.fbaipublicfiles.com/demucs/hybrid_transformer/955717e8-8726e21a.th"));
    EXPECT_TRUE(contains(error.what(), "download by hand into " + folder.path()));
    EXPECT_TRUE(contains(error.what(), "demucs-vocals fetch htdemucs"));
  }
  EXPECT_TRUE(folder.names().empty()) << "resolving never writes to the cache";
}

TEST(ModelCacheResolve, ForOneStemOfABagOnlyTheNeededFilesAreRequired) {
  ScopedEnvironmentVariable root(kModelRootEnvVar, std::nullopt);
  TemporaryFolder folder;
  const ModelCache cache(folder.path());
  try {
    cache.resolve("htdemucs_ft", {"vocals"});
    FAIL() << "expected ModelNotFoundError";
  } catch (const ModelNotFoundError &error) {
    EXPECT_TRUE(contains(error.what(), "/hybrid_transformer/04573f0d-f3cf25b2.th"));
    EXPECT_EQ(std::string(error.what()).find("f7e0c4bc"), std::string::npos) << error.what();
    EXPECT_TRUE(contains(error.what(), "demucs-vocals fetch htdemucs_ft"));
  }
  try {
    cache.resolve("htdemucs_ft");
    FAIL() << "expected ModelNotFoundError";
  } catch (const ModelNotFoundError &error) {
    for (const char *file : {"f7e0c4bc-ba3fe64a.th", "d12395a8-e57c48e6.th",
                             "92cfc3b6-ef3bcb9c.th", "04573f0d-f3cf25b2.th"})
      EXPECT_TRUE(contains(error.what(), std::string("/hybrid_transformer/") + file));
  }
  EXPECT_THROW(cache.resolve("htdemucs_ft", {"piano"}), std::invalid_argument);
}

TEST(ModelCacheResolve, AFileWithTheWrongHashIsRejected) {
  TemporaryFolder folder;
  const ModelCache cache(folder.path());
  const ModelFile &file = find_known_model("htdemucs")->files[0];
  folder.write(file.file_name, "an interrupted download");
  EXPECT_EQ(cache.state_of(file), CachedFileState::wrong_hash);
  try {
    cache.resolve("htdemucs");
    FAIL() << "expected ModelNotFoundError";
  } catch (const ModelNotFoundError &error) {
    EXPECT_TRUE(contains(error.what(), "955717e8-8726e21a.th is damaged or incomplete"));
    EXPECT_TRUE(contains(error.what(), "does not start with 8726e21a"));
    EXPECT_TRUE(contains(error.what(), "demucs-vocals fetch htdemucs"));
  }
}

TEST(ModelCacheResolve, AVerifiedCachedModelResolvesToItsFilesAndWeights) {
  TemporaryFolder folder;
  const ModelCache cache(folder.path());
  const std::string path = folder.write("955717e8-8726e21a.th", kFakeHtdemucsCheckpoint);
  for (const std::vector<std::string> &stems :
       {std::vector<std::string>{}, std::vector<std::string>{"vocals"}}) {
    const ResolvedModel model = cache.resolve("htdemucs", stems);
    EXPECT_EQ(model.name, "htdemucs");
    EXPECT_EQ(model.files, std::vector<std::string>{path});
    EXPECT_EQ(model.weights, (std::vector<std::vector<double>>{{1, 1, 1, 1}}));
    EXPECT_EQ(model.sources, (std::vector<std::string>{"drums", "bass", "other", "vocals"}));
  }
}

TEST(ModelCacheState, AFileIsVerifiedOnlyWhenItsSha256StartsWithThePrefixInItsName) {
  TemporaryFolder folder;
  const ModelCache cache(folder.path());
  const std::string content = "checkpoint bytes";
  const std::string prefix = sha256_of(content).substr(0, 8);
  const ModelFile file{"cafe0000-" + prefix + ".th", "test/cafe0000-" + prefix + ".th", prefix};

  EXPECT_EQ(cache.path_of(file), folder.file(file.file_name));
  EXPECT_EQ(cache.state_of(file), CachedFileState::missing);
  folder.write(file.file_name, content);
  EXPECT_EQ(cache.state_of(file), CachedFileState::verified);
  folder.write(file.file_name, content + " ");
  EXPECT_EQ(cache.state_of(file), CachedFileState::wrong_hash);
}

// --- RoFormer models: a checkpoint and its configuration ------------------------

std::string test_data_file(const std::string &name) {
  const char *folder = g_getenv("DEMUCS_TEST_DATA");
  return std::string(folder != nullptr ? folder : "tests/data") + "/" + name;
}

constexpr const char *kBs317Checkpoint = "model_bs_roformer_ep_317_sdr_12.9755.ckpt";
constexpr const char *kBs317Config = "model_bs_roformer_ep_317_sdr_12.9755.yaml";

TEST(ModelCacheResolve, ARoformerPathIsARoformerCheckpointWithTheDefaultConfiguration) {
  TemporaryFolder folder;
  const ModelCache cache(folder.path());
  const std::string path = folder.write("mine.ckpt", "not checked");
  const ResolvedModel model = cache.resolve(path);
  EXPECT_EQ(model.files, std::vector<std::string>{path});
  EXPECT_EQ(model.architecture, ModelArchitecture::roformer);
  EXPECT_EQ(model.config, "") << "the loader's default: mine.yaml";
  EXPECT_EQ(cache.resolve(folder.write("mine.th", "x")).architecture, ModelArchitecture::htdemucs);
  try {
    cache.resolve(folder.file("absent.ckpt"));
    FAIL() << "expected ModelNotFoundError";
  } catch (const ModelNotFoundError &error) {
    EXPECT_TRUE(contains(error.what(), folder.file("absent.ckpt") + " does not exist"));
  }
}

TEST(ModelCacheResolve, AMissingRoformerNamesBothFilesAndTheirUrls) {
  ScopedEnvironmentVariable root(kModelRootEnvVar, std::nullopt);
  TemporaryFolder folder;
  const ModelCache cache(folder.path());
  try {
    cache.resolve("bs_roformer_317", {"vocals"});
    FAIL() << "expected ModelNotFoundError";
  } catch (const ModelNotFoundError &error) {
    EXPECT_TRUE(contains(error.what(), std::string(kBs317Checkpoint) + " is missing"));
    EXPECT_TRUE(contains(error.what(), std::string(kBs317Config) + " is missing"));
    EXPECT_TRUE(contains(error.what(), "https://github.com/TRvlvr/model_repo/releases/download/"));
    EXPECT_TRUE(contains(error.what(), "https://raw.githubusercontent.com/ZFTurbo/"));
    EXPECT_TRUE(contains(error.what(), "demucs-vocals fetch bs_roformer_317"));
  }
  EXPECT_TRUE(folder.names().empty());
}

// A checkpoint put into the cache by hand is trusted the first time and its
// sha256 recorded; the configuration is checked against its known sha256.
TEST(ModelCacheResolve, ARoformerResolvesToItsCheckpointAndConfigurationAndRecordsTheChecksum) {
  TemporaryFolder folder;
  const ModelCache cache(folder.path());
  const std::string checkpoint = folder.write(kBs317Checkpoint, "checkpoint bytes");
  const std::string config = folder.write(kBs317Config, read_file_content(test_data_file(
                                                             std::string("roformer/community/") + kBs317Config)));
  const ResolvedModel model = cache.resolve("bs_roformer_317", {"vocals"});
  EXPECT_EQ(model.name, "bs_roformer_317");
  EXPECT_EQ(model.architecture, ModelArchitecture::roformer);
  EXPECT_EQ(model.files, std::vector<std::string>{checkpoint});
  EXPECT_EQ(model.config, config);
  EXPECT_EQ(model.weights, (std::vector<std::vector<double>>{{1}}));
  EXPECT_EQ(model.sources, std::vector<std::string>{"vocals"});
  EXPECT_EQ(read_file_content(checkpoint + ".sha256"),
            sha256_of("checkpoint bytes") + "  " + kBs317Checkpoint + "\n");
  EXPECT_FALSE(g_file_test((config + ".sha256").c_str(), G_FILE_TEST_EXISTS)) << "its sha256 is published";
}

TEST(ModelCacheResolve, ARoformerCheckpointDamagedAfterItsFirstUseIsRejected) {
  TemporaryFolder folder;
  const ModelCache cache(folder.path());
  const ModelFile &file = find_known_model("bs_roformer_317")->files[0];
  folder.write(kBs317Checkpoint, "checkpoint bytes");
  folder.write(kBs317Config,
               read_file_content(test_data_file(std::string("roformer/community/") + kBs317Config)));
  EXPECT_EQ(cache.state_of(file), CachedFileState::verified);
  EXPECT_EQ(cache.expected_sha256(file), sha256_of("checkpoint bytes"));

  folder.write(kBs317Checkpoint, "checkpoint bytes, damaged");
  EXPECT_EQ(cache.state_of(file), CachedFileState::wrong_hash);
  try {
    cache.resolve("bs_roformer_317");
    FAIL() << "expected ModelNotFoundError";
  } catch (const ModelNotFoundError &error) {
    EXPECT_TRUE(contains(error.what(), std::string(kBs317Checkpoint) + " is damaged or incomplete"));
    EXPECT_TRUE(contains(error.what(), std::string(kBs317Checkpoint) + ".sha256"));
  }
}

TEST(ModelCacheResolve, ARoformerConfigurationOtherThanThePinnedOneIsRejected) {
  TemporaryFolder folder;
  const ModelCache cache(folder.path());
  folder.write(kBs317Checkpoint, "checkpoint bytes");
  folder.write(kBs317Config, "model:\n  dim: 1\n");
  try {
    cache.resolve("bs_roformer_317");
    FAIL() << "expected ModelNotFoundError";
  } catch (const ModelNotFoundError &error) {
    EXPECT_TRUE(contains(error.what(), std::string(kBs317Config) + " is damaged or incomplete"));
    EXPECT_TRUE(contains(error.what(), "does not start with 42e5635c"));
  }
}

}  // namespace
}  // namespace demucs
