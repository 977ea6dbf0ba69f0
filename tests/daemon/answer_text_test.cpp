// What answers and logs say: no server folders, safe download names,
// unforgeable log lines, job ids shaped as UUIDv4.
#include "access_log.h"
#include "job_id.h"
#include "path_redaction.h"
#include "security_headers.h"
#include "upload_name.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace demucs {
namespace {

TEST(PathRedaction, KeepsFileNamesNotFolders) {
  EXPECT_EQ(redact_server_paths("Could not open /srv/data/jobs/1f/input.mp3 for reading."),
            "Could not open input.mp3 for reading.");
  EXPECT_EQ(redact_server_paths("put it into the folder /root/.cache/demucs-vocals as x.th"),
            "put it into the folder demucs-vocals as x.th");
  EXPECT_EQ(redact_server_paths("model file \"/a/b/later.th\" does not exist"), "model file \"later.th\" does not exist");
  EXPECT_EQ(redact_server_paths("(looked in /usr/lib/gstreamer-1.0/)."), "(looked in gstreamer-1.0).");
  EXPECT_EQ(redact_server_paths("ends with /tmp/x.wav."), "ends with x.wav.");
  EXPECT_EQ(redact_server_paths("/abs/at/start: broken"), "start: broken");
  EXPECT_EQ(redact_server_paths("download http://127.0.0.1:9/hybrid_transformer/955717e8.th failed"),
            "download http://127.0.0.1:9/hybrid_transformer/955717e8.th failed");
  EXPECT_EQ(redact_server_paths("3/4 done, a/b relative"), "3/4 done, a/b relative");
  EXPECT_EQ(redact_server_paths("root is /"), "root is /");
}

TEST(ContentDisposition, GivesAnAsciiFallbackBesideTheExactName) {
  EXPECT_EQ(attachment_disposition("song_vocals.wav"),
            "attachment; filename=\"song_vocals.wav\"; filename*=UTF-8''song_vocals.wav");
  EXPECT_EQ(attachment_disposition("Caf\xC3\xA9 \"live\"\\.wav"),
            "attachment; filename=\"Caf_ _live__.wav\"; filename*=UTF-8''Caf%C3%A9%20%22live%22%5C.wav");
  EXPECT_EQ(attachment_disposition("\xE6\xAD\x8C.flac"), "attachment; filename=\"_.flac\"; filename*=UTF-8''%E6%AD%8C.flac");
}

TEST(UploadName, DropsBidiAndFormatCharacters) {
  // "song\u202Egpj.mp3" shows as "song3pm.jpg"; zero widths and the BOM hide.
  EXPECT_EQ(sanitize_upload_name("song\xE2\x80\xAEgpj.mp3"), "songgpj.mp3");
  EXPECT_EQ(sanitize_upload_name("a\xE2\x80\x8B" "b\xE2\x81\xA6" "c\xEF\xBB\xBF.wav"), "abc.wav");
  EXPECT_EQ(sanitize_upload_name("\xE2\x80\x8F\xE2\x80\x8E"), "upload");
}

TEST(AccessLog, EscapesWhatCouldForgeALine) {
  EXPECT_EQ(escape_for_log("/status/abc"), "/status/abc");
  EXPECT_EQ(escape_for_log("/x\n2026-01-01 forged"), "/x\\x0A2026-01-01 forged");
  EXPECT_EQ(escape_for_log("/x\r\x1b[31m"), "/x\\x0D\\x1B[31m");
  EXPECT_EQ(escape_for_log("back\\slash"), "back\\x5Cslash");
  EXPECT_EQ(escape_for_log("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(escape_for_log("bad\xFF"), "bad\\xFF");
  EXPECT_EQ(escape_for_log("c1\xC2\x85"), "c1\\xC2\\x85");  // NEL, a C1 line break
}

TEST(JobId, IsAVersion4UuidFromTheKernel) {
  const unsigned char zeros[16] = {};
  EXPECT_EQ(uuid_v4_from_bytes(zeros), "00000000-0000-4000-8000-000000000000");
  unsigned char ones[16];
  for (unsigned char &byte : ones) byte = 0xff;
  EXPECT_EQ(uuid_v4_from_bytes(ones), "ffffffff-ffff-4fff-bfff-ffffffffffff");

  const std::regex shape("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = new_job_id();
    EXPECT_TRUE(std::regex_match(id, shape)) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

}  // namespace
}  // namespace demucs
