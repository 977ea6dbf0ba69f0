// What the daemon makes of uploaded file names.
#include "upload_name.h"

#include <glib.h>
#include <gtest/gtest.h>

namespace demucs {
namespace {

TEST(UploadName, KeepsOnlyTheLastPathSegment) {
  EXPECT_EQ(sanitize_upload_name("../../x.mp3"), "x.mp3");
  EXPECT_EQ(sanitize_upload_name("/etc/passwd"), "passwd");
  EXPECT_EQ(sanitize_upload_name("C:\\Users\\me\\song.wav"), "song.wav");
}

TEST(UploadName, DropsControlCharactersLeadingDotsAndSpaces) {
  EXPECT_EQ(sanitize_upload_name("a\nb\r\x01\x7f" "c.flac"), "abc.flac");
  EXPECT_EQ(sanitize_upload_name("..hidden.mp3"), "hidden.mp3");
  EXPECT_EQ(sanitize_upload_name("  song .mp3 "), "song .mp3");
  EXPECT_EQ(sanitize_upload_name(".."), "upload");
  EXPECT_EQ(sanitize_upload_name(""), "upload");
  EXPECT_EQ(sanitize_upload_name("\x01\x02"), "upload");
}

TEST(UploadName, KeepsUnicodeAndRepairsBrokenUtf8) {
  EXPECT_EQ(sanitize_upload_name("Café Tacvba – Déjà.mp3"), "Café Tacvba – Déjà.mp3");
  const std::string repaired = sanitize_upload_name("bad\xff.mp3");
  EXPECT_TRUE(g_utf8_validate(repaired.c_str(), -1, nullptr));
  EXPECT_EQ(lowercase_extension(repaired), "mp3");
}

TEST(UploadName, LimitsTheLengthAndKeepsTheExtension) {
  const std::string name = sanitize_upload_name(std::string(500, 'a') + ".flac");
  EXPECT_LE(name.size(), 200u);
  EXPECT_EQ(lowercase_extension(name), "flac");
  const std::string accented = sanitize_upload_name(std::string(150, 'a') + std::string(60, '\xc3') + ".mp3");
  EXPECT_TRUE(g_utf8_validate(accented.c_str(), -1, nullptr));
}

TEST(UploadName, AllowsOnlyAudioExtensions) {
  for (const char *name : {"a.mp3", "a.WAV", "a.Flac", "a.ogg", "a.m4a", "a.aac"})
    EXPECT_TRUE(is_allowed_upload_extension(lowercase_extension(name))) << name;
  for (const char *name : {"a.exe", "a.txt", "a", "a.", "mp3", "a.mp3.exe", "a.mp4"})
    EXPECT_FALSE(is_allowed_upload_extension(lowercase_extension(name))) << name;
}

}  // namespace
}  // namespace demucs
