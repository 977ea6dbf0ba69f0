// A libdemucs built without the downloader (-Ddownloader=disabled): a model
// that is not in the cache is an error that says where to put it by hand.
#include "demucs/demucs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace demucs {
namespace {

TEST(ModelDownloaderUnavailable, FetchSaysWhereToPutTheFileByHand) {
  const std::string folder = (std::filesystem::temp_directory_path() / "demucs-no-downloader-cache").string();
  const ModelCache cache(folder);
  const ModelFile& file = find_known_model("htdemucs")->files.front();
  try {
    fetch_model_file(cache, file);
    FAIL() << "no error";
  } catch (const DownloadError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("built without the downloader"), std::string::npos) << message;
    EXPECT_NE(message.find(file.url()), std::string::npos) << message;
    EXPECT_NE(message.find(folder), std::string::npos) << message;
    EXPECT_NE(message.find(file.file_name), std::string::npos) << message;
  }
  EXPECT_FALSE(std::filesystem::exists(cache.path_of(file)));
}

TEST(ModelDownloaderUnavailable, AModelNotInTheCacheStillNamesItsUrlAndFolder) {
  const ModelCache cache((std::filesystem::temp_directory_path() / "demucs-no-downloader-cache").string());
  try {
    cache.resolve("htdemucs");
    FAIL() << "no error";
  } catch (const ModelNotFoundError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("955717e8-8726e21a.th"), std::string::npos) << message;
    EXPECT_NE(message.find(cache.folder()), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace demucs
