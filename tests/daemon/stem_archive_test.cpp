// The ZIP writer of multi-stem jobs: the CRC-32 of ZIP, and an archive that
// unzip(1) lists and tests, with the files stored as they are.
#include "stem_archive.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace demucs {
namespace {

std::string read_all(const std::string &path) {
  gchar *text = nullptr;
  gsize size = 0;
  EXPECT_TRUE(g_file_get_contents(path.c_str(), &text, &size, nullptr));
  std::string bytes(text != nullptr ? text : "", size);
  g_free(text);
  return bytes;
}

TEST(StemArchive, Crc32IsZipsOnTheCheckValue) {
  const std::string check = "123456789";
  EXPECT_EQ(crc32_update(0, reinterpret_cast<const unsigned char *>(check.data()), check.size()), 0xCBF43926u);
  // In pieces: the same.
  std::uint32_t crc = crc32_update(0, reinterpret_cast<const unsigned char *>(check.data()), 4);
  crc = crc32_update(crc, reinterpret_cast<const unsigned char *>(check.data()) + 4, 5);
  EXPECT_EQ(crc, 0xCBF43926u);
  EXPECT_EQ(crc32_update(0, nullptr, 0), 0u);
}

TEST(StemArchive, HoldsEachFileStoredInOrderAndLeavesNoPartialFile) {
  gchar *folder = g_dir_make_tmp("stem-archive-XXXXXX", nullptr);
  ASSERT_NE(folder, nullptr);
  const std::string dir = folder;
  g_free(folder);
  const std::string vocals = dir + "/v.wav", drums = dir + "/d.wav";
  std::string vocals_bytes(70000, '\0');
  for (size_t i = 0; i < vocals_bytes.size(); ++i) vocals_bytes[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(g_file_set_contents(vocals.c_str(), vocals_bytes.data(), static_cast<gssize>(vocals_bytes.size()), nullptr));
  ASSERT_TRUE(g_file_set_contents(drums.c_str(), "drums", 5, nullptr));
  const std::string zip = dir + "/stems.zip";
  ASSERT_EQ(write_stem_archive(zip, {{"vocals.wav", vocals}, {"drums.wav", drums}}), "");
  EXPECT_FALSE(g_file_test((zip + ".partial").c_str(), G_FILE_TEST_EXISTS));
  const std::string bytes = read_all(zip);
  EXPECT_EQ(bytes.substr(0, 4), std::string("PK\x03\x04", 4));
  EXPECT_EQ(bytes.find(vocals_bytes), 30u + std::string("vocals.wav").size()) << "stored right after its header";
  EXPECT_NE(bytes.find("drums"), std::string::npos);

  // unzip, when installed, agrees (CRCs, sizes, names).
  gchar *unzip = g_find_program_in_path("unzip");
  if (unzip != nullptr) {
    gchar *out = nullptr;
    gint status = 0;
    const std::string command = std::string(unzip) + " -tq " + zip;
    ASSERT_TRUE(g_spawn_command_line_sync(command.c_str(), &out, nullptr, &status, nullptr));
    EXPECT_TRUE(g_spawn_check_wait_status(status, nullptr)) << out;
    g_free(out);
    g_free(unzip);
  }
  // A missing file: an error naming it, and nothing left.
  const std::string problem = write_stem_archive(dir + "/bad.zip", {{"x.wav", dir + "/missing.wav"}});
  EXPECT_NE(problem.find("missing.wav"), std::string::npos) << problem;
  EXPECT_FALSE(g_file_test((dir + "/bad.zip").c_str(), G_FILE_TEST_EXISTS));
  EXPECT_FALSE(g_file_test((dir + "/bad.zip.partial").c_str(), G_FILE_TEST_EXISTS));
  for (const char *name : {"v.wav", "d.wav", "stems.zip"}) g_remove((dir + "/" + name).c_str());
  g_rmdir(dir.c_str());
}

}  // namespace
}  // namespace demucs
