// The verified downloader against a local HTTP server on 127.0.0.1: a file
// enters the folder only complete and with the right sha256; every failure
// names the URL and the folder, and leaves nothing behind.
#include "registry/model_downloader.h"

#include "loopback_http_server.h"
#include "scoped_environment_variable.h"
#include "temporary_folder.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace demucs {
namespace {

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

// Bytes that are not all alike, larger than the downloader's read block.
std::string checkpoint_like_content(std::size_t size) {
  std::string content(size, '\0');
  for (std::size_t i = 0; i < size; ++i) content[i] = static_cast<char>((i * 2654435761u) >> 13);
  return content;
}

class ModelDownloaderTest : public ::testing::Test {
 protected:
  ModelDownloaderTest()
      : no_proxy_("no_proxy", std::string("127.0.0.1")),
        content_(checkpoint_like_content((1 << 20) + 777)),
        prefix_(sha256_of(content_).substr(0, 8)),
        file_name_("0badcafe-" + prefix_ + ".th"),
        cache_folder_(folder_.file("cache")) {}

  DownloadRequest request_for(const std::string &path) const {
    return DownloadRequest{server_.root_url() + path, cache_folder_, file_name_, prefix_};
  }

  std::vector<std::string> cache_content() const {
    std::vector<std::string> names;
    if (GDir *dir = g_dir_open(cache_folder_.c_str(), 0, nullptr)) {
      while (const gchar *name = g_dir_read_name(dir)) names.push_back(name);
      g_dir_close(dir);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // Runs `request` expecting a DownloadError; returns its message.
  std::string failure_of(const DownloadRequest &request, GCancellable *cancellable = nullptr) {
    try {
      download_verified_file(request, {}, cancellable);
    } catch (const DownloadError &error) {
      return error.what();
    }
    ADD_FAILURE() << "expected a DownloadError for " << request.url;
    return "";
  }

  ScopedEnvironmentVariable no_proxy_;
  LoopbackHttpServer server_;
  TemporaryFolder folder_;
  const std::string content_;
  const std::string prefix_;
  const std::string file_name_;
  const std::string cache_folder_;
};

TEST_F(ModelDownloaderTest, AGoodDownloadAppearsWhole) {
  server_.serve("/demucs/" + file_name_, {200, content_, -1});
  std::vector<std::pair<std::int64_t, std::int64_t>> calls;
  download_verified_file(request_for("demucs/" + file_name_),
                         [&calls](std::int64_t done, std::int64_t total) {
                           calls.emplace_back(done, total);
                         });

  EXPECT_EQ(cache_content(), std::vector<std::string>{file_name_}) << "no temporary file left";
  EXPECT_EQ(read_file_content(cache_folder_ + "/" + file_name_), content_);
  EXPECT_EQ(server_.requested_paths(), std::vector<std::string>{"/demucs/" + file_name_});

  const auto size = static_cast<std::int64_t>(content_.size());
  ASSERT_GE(calls.size(), 2u) << "progress comes block by block";
  for (std::size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].second, size);
    if (i > 0) {
      EXPECT_GT(calls[i].first, calls[i - 1].first);
    }
  }
  EXPECT_EQ(calls.back().first, size);
}

TEST_F(ModelDownloaderTest, AFileReplacesAnOlderOneOfTheSameName) {
  g_mkdir_with_parents(cache_folder_.c_str(), 0755);
  g_file_set_contents((cache_folder_ + "/" + file_name_).c_str(), "stale", -1, nullptr);
  server_.serve("/" + file_name_, {200, content_, -1});
  download_verified_file(request_for(file_name_));
  EXPECT_EQ(read_file_content(cache_folder_ + "/" + file_name_), content_);
  EXPECT_EQ(cache_content(), std::vector<std::string>{file_name_});
}

TEST_F(ModelDownloaderTest, NotFoundNamesTheUrlAndTheFolderAndLeavesNothing) {
  const DownloadRequest request = request_for("demucs/absent.th");
  const std::string message = failure_of(request);
  EXPECT_TRUE(contains(message, "could not download " + request.url));
  EXPECT_TRUE(contains(message, "HTTP 404"));
  EXPECT_TRUE(contains(message, "put it into the folder " + cache_folder_ + " as " + file_name_));
  EXPECT_TRUE(cache_content().empty());
}

TEST_F(ModelDownloaderTest, WrongContentFailsTheHashCheckAndLeavesNothing) {
  server_.serve("/" + file_name_, {200, content_ + "tampered", -1});
  const DownloadRequest request = request_for(file_name_);
  const std::string message = failure_of(request);
  EXPECT_TRUE(contains(message, request.url));
  EXPECT_TRUE(contains(message, "sha256 " + sha256_of(content_ + "tampered")));
  EXPECT_TRUE(contains(message, "does not start with " + prefix_));
  EXPECT_TRUE(contains(message, cache_folder_));
  EXPECT_TRUE(cache_content().empty());
}

TEST_F(ModelDownloaderTest, AConnectionClosedMidTransferLeavesNothing) {
  const std::string half = content_.substr(0, content_.size() / 2);
  server_.serve("/" + file_name_, {200, half, static_cast<long long>(content_.size())});
  const DownloadRequest request = request_for(file_name_);
  const std::string message = failure_of(request);
  EXPECT_TRUE(contains(message, "could not download " + request.url));
  EXPECT_TRUE(contains(message, cache_folder_));
  EXPECT_TRUE(cache_content().empty());
}

TEST_F(ModelDownloaderTest, OfflineNamesTheUrlAndTheFolder) {
  const std::string url =
      "http://127.0.0.1:" + std::to_string(closed_loopback_port()) + "/demucs/" + file_name_;
  const std::string message =
      failure_of(DownloadRequest{url, cache_folder_, file_name_, prefix_});
  EXPECT_TRUE(contains(message, "could not download " + url));
  EXPECT_TRUE(contains(message, "put it into the folder " + cache_folder_));
  EXPECT_TRUE(cache_content().empty());
}

TEST_F(ModelDownloaderTest, AnExceptionFromTheProgressCallbackAbortsAndCleansUp) {
  server_.serve("/" + file_name_, {200, content_, -1});
  struct Stop {};
  EXPECT_THROW(download_verified_file(request_for(file_name_),
                                      [](std::int64_t, std::int64_t) { throw Stop{}; }),
               Stop);
  EXPECT_TRUE(cache_content().empty());
}

TEST_F(ModelDownloaderTest, ACancelledDownloadLeavesNothing) {
  server_.serve("/" + file_name_, {200, content_, -1});
  GCancellable *cancellable = g_cancellable_new();
  g_cancellable_cancel(cancellable);
  const std::string message = failure_of(request_for(file_name_), cancellable);
  g_object_unref(cancellable);
  EXPECT_TRUE(contains(message, server_.root_url() + file_name_));
  EXPECT_TRUE(cache_content().empty());
}

TEST_F(ModelDownloaderTest, ARequestWithoutAHashIsRefusedBeforeAnyTransfer) {
  DownloadRequest request = request_for(file_name_);
  request.sha256_prefix.clear();
  EXPECT_THROW(download_verified_file(request), std::invalid_argument);
  EXPECT_TRUE(server_.requested_paths().empty());
}

TEST_F(ModelDownloaderTest, FetchingAVerifiedFileDoesNothingAndADamagedOneIsReplaced) {
  ScopedEnvironmentVariable root(kModelRootEnvVar, server_.root_url() + "mirror");
  const ModelFile file{file_name_, "models/" + file_name_, prefix_};
  server_.serve("/mirror/models/" + file_name_, {200, content_, -1});
  const ModelCache cache(cache_folder_);

  EXPECT_EQ(fetch_model_file(cache, file), FetchOutcome::downloaded);
  EXPECT_EQ(server_.requested_paths().size(), 1u);
  EXPECT_EQ(cache.state_of(file), CachedFileState::verified);

  EXPECT_EQ(fetch_model_file(cache, file), FetchOutcome::already_cached);
  EXPECT_EQ(server_.requested_paths().size(), 1u) << "no second request";

  g_file_set_contents(cache.path_of(file).c_str(), "damaged", -1, nullptr);
  EXPECT_EQ(fetch_model_file(cache, file), FetchOutcome::downloaded);
  EXPECT_EQ(server_.requested_paths().size(), 2u);
  EXPECT_EQ(read_file_content(cache.path_of(file)), content_);
}

// --- Files with no published checksum: trusted on first download -------------

TEST_F(ModelDownloaderTest, WithoutAPublishedChecksumTheFirstDownloadIsRecordedAndLaterOnesChecked) {
  ScopedEnvironmentVariable root(kModelRootEnvVar, server_.root_url() + "mirror");
  const ModelFile file{"community.ckpt", "releases/community.ckpt", "", "https://example.invalid/"};
  server_.serve("/mirror/releases/community.ckpt", {200, content_, -1});
  const ModelCache cache(cache_folder_);

  EXPECT_EQ(fetch_model_file(cache, file), FetchOutcome::downloaded);
  EXPECT_EQ(cache_content(), (std::vector<std::string>{"community.ckpt", "community.ckpt.sha256"}));
  EXPECT_EQ(read_file_content(cache.path_of(file) + ".sha256"), sha256_of(content_) + "  community.ckpt\n");
  EXPECT_EQ(cache.state_of(file), CachedFileState::verified);
  EXPECT_EQ(fetch_model_file(cache, file), FetchOutcome::already_cached);
  EXPECT_EQ(server_.requested_paths().size(), 1u);

  // Damaged later: detected, and the download that replaces it is checked
  // against the record.
  g_file_set_contents(cache.path_of(file).c_str(), "damaged", -1, nullptr);
  EXPECT_EQ(cache.state_of(file), CachedFileState::wrong_hash);
  EXPECT_EQ(fetch_model_file(cache, file), FetchOutcome::downloaded);
  EXPECT_EQ(read_file_content(cache.path_of(file)), content_);
  EXPECT_EQ(cache.state_of(file), CachedFileState::verified);

  // The server now sends other bytes: refused, naming the record, and the
  // cache keeps what it had.
  g_file_set_contents(cache.path_of(file).c_str(), "damaged", -1, nullptr);
  server_.serve("/mirror/releases/community.ckpt", {200, content_ + "changed", -1});
  try {
    fetch_model_file(cache, file);
    FAIL() << "expected a DownloadError";
  } catch (const DownloadError &error) {
    EXPECT_TRUE(contains(error.what(), "community.ckpt.sha256"));
    EXPECT_TRUE(contains(error.what(), server_.root_url() + "mirror/releases/community.ckpt"));
  }
  EXPECT_EQ(cache_content(), (std::vector<std::string>{"community.ckpt", "community.ckpt.sha256"}));
  EXPECT_EQ(read_file_content(cache.path_of(file) + ".sha256"), sha256_of(content_) + "  community.ckpt\n");
}

TEST_F(ModelDownloaderTest, ARecordWithoutItsFileChecksTheNextDownload) {
  ScopedEnvironmentVariable root(kModelRootEnvVar, server_.root_url());
  const ModelFile file{"community.ckpt", "community.ckpt", "", ""};
  server_.serve("/community.ckpt", {200, content_, -1});
  const ModelCache cache(cache_folder_);
  EXPECT_EQ(fetch_model_file(cache, file), FetchOutcome::downloaded);
  g_remove(cache.path_of(file).c_str());
  EXPECT_EQ(cache.state_of(file), CachedFileState::missing);
  server_.serve("/community.ckpt", {200, "something else", -1});
  EXPECT_THROW(fetch_model_file(cache, file), DownloadError);
  EXPECT_EQ(cache_content(), std::vector<std::string>{"community.ckpt.sha256"});
}

// A known RoFormer model end to end through a mirror: both files fetched, the
// configuration checked against its registered sha256, then resolved.
TEST_F(ModelDownloaderTest, AKnownRoformerIsFetchedWholeAndThenResolves) {
  ScopedEnvironmentVariable root(kModelRootEnvVar, server_.root_url() + "mirror");
  const KnownModel &model = *find_known_model("mel_roformer_kj");
  const char *data = g_getenv("DEMUCS_TEST_DATA");
  const std::string config =
      read_file_content(std::string(data != nullptr ? data : "tests/data") + "/roformer/community/" +
                        model.files[1].file_name);
  ASSERT_FALSE(config.empty());
  server_.serve("/mirror/" + model.files[0].remote_path, {200, content_, -1});
  server_.serve("/mirror/" + model.files[1].remote_path, {200, config, -1});
  const ModelCache cache(cache_folder_);
  for (const ModelFile &file : model.files) EXPECT_EQ(fetch_model_file(cache, file), FetchOutcome::downloaded);
  const ResolvedModel resolved = cache.resolve(model.name, {"vocals"});
  EXPECT_EQ(resolved.files, std::vector<std::string>{cache.path_of(model.files[0])});
  EXPECT_EQ(resolved.config, cache.path_of(model.files[1]));
  EXPECT_EQ(cache_content(), (std::vector<std::string>{"MelBandRoformer.ckpt", "MelBandRoformer.ckpt.sha256",
                                                       "config_vocals_mel_band_roformer_kj.yaml"}));
}

}  // namespace
}  // namespace demucs
