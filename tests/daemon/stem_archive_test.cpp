// The ZIP writer of multi-stem jobs: the CRC-32 of ZIP, an archive that
// unzip(1) and Python's zipfile list and test, with the files stored as they
// are; ZIP64 records where values pass the format's 32/16-bit fields (checked
// at lowered thresholds, and for real past 4 GiB when the disk has room);
// and the archive fsynced before its rename, its folder after.
#include "stem_archive.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <string>
#include <vector>

// Every fsync of this program, by the path of its descriptor at that moment
// (the test binary's definition wins over the C library's, for the archive
// writer linked into it too); then the real one.
static std::vector<std::string> g_synced_paths;

extern "C" int fsync(int fd) {
  g_autofree gchar *link = g_strdup_printf("/proc/self/fd/%d", fd);
  g_autofree gchar *target = g_file_read_link(link, nullptr);
  g_synced_paths.push_back(target != nullptr ? target : "?");
  using Fsync = int (*)(int);
  static const auto real = reinterpret_cast<Fsync>(dlsym(RTLD_NEXT, "fsync"));
  return real(fd);
}

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

std::uint64_t little_endian(const std::string &bytes, std::size_t at, int size) {
  std::uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes.at(at + i));
  return value;
}

// Runs `argv`; its exit status 0, with what it printed.
bool run(const std::vector<std::string> &arguments, std::string &output) {
  std::vector<char *> argv;
  for (const std::string &argument : arguments) argv.push_back(const_cast<char *>(argument.c_str()));
  argv.push_back(nullptr);
  gchar *out = nullptr, *err = nullptr;
  gint status = 0;
  const bool ran = g_spawn_sync(nullptr, argv.data(), nullptr, G_SPAWN_SEARCH_PATH, nullptr, nullptr, &out, &err,
                                &status, nullptr);
  output = std::string(out != nullptr ? out : "") + (err != nullptr ? err : "");
  g_free(out);
  g_free(err);
  return ran && g_spawn_check_wait_status(status, nullptr);
}

// Python's zipfile on the archive: each entry's name and size, and
// testzip()'s verdict (every CRC checked); "" when python3 is missing.
std::string python_listing(const std::string &zip) {
  g_autofree gchar *python = g_find_program_in_path("python3");
  if (python == nullptr) return "";
  std::string output;
  run({python,
       "-c",
       "import sys, zipfile\n"
       "z = zipfile.ZipFile(sys.argv[1])\n"
       "for i in z.infolist(): print(i.filename, i.file_size)\n"
       "print('bad:', z.testzip())\n",
       zip},
      output);
  return output;
}

class StemArchive : public ::testing::Test {
 protected:
  StemArchive() {
    gchar *folder = g_dir_make_tmp("stem-archive-XXXXXX", nullptr);
    dir_ = folder != nullptr ? folder : "";
    g_free(folder);
  }
  ~StemArchive() override {
    if (GDir *listing = g_dir_open(dir_.c_str(), 0, nullptr)) {
      while (const gchar *name = g_dir_read_name(listing)) g_remove((dir_ + "/" + name).c_str());
      g_dir_close(listing);
    }
    g_rmdir(dir_.c_str());
  }
  std::string file(const std::string &name, const std::string &bytes) const {
    const std::string path = dir_ + "/" + name;
    EXPECT_TRUE(g_file_set_contents(path.c_str(), bytes.data(), static_cast<gssize>(bytes.size()), nullptr));
    return path;
  }
  static std::string patterned(std::size_t size) {
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
    return bytes;
  }

  std::string dir_;
};

TEST(StemArchiveCrc, Crc32IsZipsOnTheCheckValue) {
  const std::string check = "123456789";
  EXPECT_EQ(crc32_update(0, reinterpret_cast<const unsigned char *>(check.data()), check.size()), 0xCBF43926u);
  // In pieces: the same.
  std::uint32_t crc = crc32_update(0, reinterpret_cast<const unsigned char *>(check.data()), 4);
  crc = crc32_update(crc, reinterpret_cast<const unsigned char *>(check.data()) + 4, 5);
  EXPECT_EQ(crc, 0xCBF43926u);
  EXPECT_EQ(crc32_update(0, nullptr, 0), 0u);
}

TEST_F(StemArchive, HoldsEachFileStoredInOrderAndLeavesNoPartialFile) {
  const std::string vocals_bytes = patterned(70000);
  const std::string vocals = file("v.wav", vocals_bytes), drums = file("d.wav", "drums");
  const std::string zip = dir_ + "/stems.zip";
  ASSERT_EQ(write_stem_archive(zip, {{"vocals.wav", vocals}, {"drums.wav", drums}}), "");
  EXPECT_FALSE(g_file_test((zip + ".partial").c_str(), G_FILE_TEST_EXISTS));
  const std::string bytes = read_all(zip);
  EXPECT_EQ(bytes.substr(0, 4), std::string("PK\x03\x04", 4));
  EXPECT_EQ(bytes.find(vocals_bytes), 30u + std::string("vocals.wav").size()) << "stored right after its header";
  EXPECT_NE(bytes.find("drums"), std::string::npos);
  EXPECT_EQ(bytes.find(std::string("PK\x06\x06", 4)), std::string::npos) << "no ZIP64 record below 4 GiB";
  EXPECT_EQ(bytes.size(), 2 * 30 + 2 * 46 + 2 * 19 + 70000 + 5 + 22u);

  // unzip, when installed, agrees (CRCs, sizes, names).
  std::string output;
  if (g_autofree gchar *unzip = g_find_program_in_path("unzip")) {
    EXPECT_TRUE(run({unzip, "-tq", zip}, output)) << output;
  }
  // A missing file: an error naming it, and nothing left.
  const std::string problem = write_stem_archive(dir_ + "/bad.zip", {{"x.wav", dir_ + "/missing.wav"}});
  EXPECT_NE(problem.find("missing.wav"), std::string::npos) << problem;
  EXPECT_FALSE(g_file_test((dir_ + "/bad.zip").c_str(), G_FILE_TEST_EXISTS));
  EXPECT_FALSE(g_file_test((dir_ + "/bad.zip.partial").c_str(), G_FILE_TEST_EXISTS));
}

// The ZIP64 records, byte by byte, with the thresholds lowered to 1000 bytes
// and 2 entries: the first entry's sizes, the later entries' offsets and the
// directory's count go to ZIP64 fields, exactly as past 4 GiB / 65535.
TEST_F(StemArchive, WritesZip64RecordsForSizesOffsetsAndCountsPastTheThresholds) {
  const std::string vocals_bytes = patterned(70000);
  const std::string zip = dir_ + "/stems.zip";
  ASSERT_EQ(write_stem_archive(zip,
                               {{"vocals.wav", file("v.wav", vocals_bytes)},
                                {"drums.wav", file("d.wav", "drums")},
                                {"bass.wav", file("b.wav", "bass!")}},
                               Zip64Thresholds{1000, 2}),
            "");
  const std::string bytes = read_all(zip);

  // Local header of vocals: version 4.5, sizes marked, a 20-byte ZIP64 extra with both sizes.
  EXPECT_EQ(little_endian(bytes, 0, 4), 0x04034b50u);
  EXPECT_EQ(little_endian(bytes, 4, 2), 45u);
  EXPECT_EQ(little_endian(bytes, 18, 4), 0xffffffffu);
  EXPECT_EQ(little_endian(bytes, 22, 4), 0xffffffffu);
  EXPECT_EQ(little_endian(bytes, 28, 2), 20u);
  const std::size_t extra = 30 + 10;
  EXPECT_EQ(little_endian(bytes, extra, 2), 1u);
  EXPECT_EQ(little_endian(bytes, extra + 2, 2), 16u);
  EXPECT_EQ(little_endian(bytes, extra + 4, 8), 70000u);
  EXPECT_EQ(little_endian(bytes, extra + 12, 8), 70000u);
  EXPECT_EQ(bytes.compare(extra + 20, vocals_bytes.size(), vocals_bytes), 0) << "data right after the extra";
  // drums is small: its local header has no extra.
  const std::size_t drums_offset = extra + 20 + vocals_bytes.size();
  EXPECT_EQ(little_endian(bytes, drums_offset, 4), 0x04034b50u);
  EXPECT_EQ(little_endian(bytes, drums_offset + 4, 2), 20u);
  EXPECT_EQ(little_endian(bytes, drums_offset + 28, 2), 0u);

  // The end: the record, 20 bytes before it the locator, which points at the ZIP64 end record.
  const std::size_t end = bytes.size() - 22;
  EXPECT_EQ(little_endian(bytes, end, 4), 0x06054b50u);
  EXPECT_EQ(little_endian(bytes, end + 8, 2), 0xffffu) << "count in the ZIP64 record";
  EXPECT_EQ(little_endian(bytes, end + 10, 2), 0xffffu);
  EXPECT_EQ(little_endian(bytes, end + 16, 4), 0xffffffffu) << "directory offset too";
  const std::size_t locator = end - 20;
  EXPECT_EQ(little_endian(bytes, locator, 4), 0x07064b50u);
  const std::size_t record = little_endian(bytes, locator + 8, 8);
  ASSERT_EQ(record, locator - 56);
  EXPECT_EQ(little_endian(bytes, record, 4), 0x06064b50u);
  EXPECT_EQ(little_endian(bytes, record + 4, 8), 44u);
  EXPECT_EQ(little_endian(bytes, record + 24, 8), 3u);
  EXPECT_EQ(little_endian(bytes, record + 32, 8), 3u);
  const std::uint64_t directory_size = little_endian(bytes, record + 40, 8);
  const std::uint64_t directory_offset = little_endian(bytes, record + 48, 8);
  EXPECT_EQ(directory_offset + directory_size, record);
  // The third entry's central header: offset marked, its ZIP64 extra holds only the offset.
  const std::size_t bass_header = bytes.rfind(std::string("PK\x01\x02", 4), record);
  EXPECT_EQ(little_endian(bytes, bass_header + 42, 4), 0xffffffffu);
  EXPECT_EQ(little_endian(bytes, bass_header + 24, 4), 5u) << "its size fits";
  EXPECT_EQ(little_endian(bytes, bass_header + 30, 2), 12u);
  EXPECT_EQ(little_endian(bytes, bass_header + 46 + 8 + 4, 8), drums_offset + 30 + 9 + 5);

  // Readers agree.
  std::string output;
  if (g_autofree gchar *unzip = g_find_program_in_path("unzip")) {
    EXPECT_TRUE(run({unzip, "-tq", zip}, output)) << output;
  }
  const std::string listing = python_listing(zip);
  if (!listing.empty()) {
    EXPECT_EQ(listing, "vocals.wav 70000\ndrums.wav 5\nbass.wav 5\nbad: None\n");
  }
}

// For real: a stem over 4 GiB (a sparse file: no disk for the input, 4 GiB
// for the archive), and one after it at an offset past 4 GiB. Minutes of
// CRCs and writing (299 s on a busy 2-core machine), so only with
// DEMUCS_TEST_LARGE_ZIP=1, and 10 GiB free.
TEST_F(StemArchive, AnArchivePast4GiBReadsBackWithPythonsZipfile) {
  if (g_getenv("DEMUCS_TEST_LARGE_ZIP") == nullptr) GTEST_SKIP() << "set DEMUCS_TEST_LARGE_ZIP=1 to write 4 GiB";
  struct statvfs disk {};
  ASSERT_EQ(statvfs(dir_.c_str(), &disk), 0);
  if (static_cast<std::uint64_t>(disk.f_bavail) * disk.f_frsize < (10ull << 30))
    GTEST_SKIP() << "under 10 GiB free in " << dir_;
  g_autofree gchar *python = g_find_program_in_path("python3");
  if (python == nullptr) GTEST_SKIP() << "no python3 to read the archive back";
  const std::string big = dir_ + "/big.wav";
  constexpr std::uint64_t kBig = (4ull << 30) + 12345;
  const int fd = open(big.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "end", 3, kBig - 3), 3);  // zeros, then "end"
  close(fd);
  const std::string zip = dir_ + "/stems.zip";
  ASSERT_EQ(write_stem_archive(zip, {{"other.wav", big}, {"vocals.wav", file("v.wav", "vocals")}}), "");
  g_remove(big.c_str());
  EXPECT_EQ(python_listing(zip), "other.wav " + std::to_string(kBig) + "\nvocals.wav 6\nbad: None\n");
}

// The archive reaches the disk before its name does, and the name after.
TEST_F(StemArchive, IsFsyncedBeforeItsRenameAndItsFolderAfter) {
  const std::string zip = dir_ + "/stems.zip";
  g_synced_paths.clear();
  ASSERT_EQ(write_stem_archive(zip, {{"drums.wav", file("d.wav", "drums")}}), "");
  EXPECT_EQ(g_synced_paths, (std::vector<std::string>{zip + ".partial", dir_}));
}

}  // namespace
}  // namespace demucs
