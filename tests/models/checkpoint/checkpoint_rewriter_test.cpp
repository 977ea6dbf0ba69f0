// The test utility that makes altered checkpoints does exactly the edit it
// names, and its copies stay valid torch.save files.
#include "checkpoint/checkpoint_reader.h"
#include "support/scratch_directory.h"
#include "support/checkpoint_rewriter.h"
#include "support/test_data.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace demucs {
namespace {

using testing::CheckpointRewriter;
using testing::ScratchDirectory;
using testing::test_data;

const std::string kFixture = "htdemucs-tiny-4s.th";

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(CheckpointRewriter, UnchangedCopyReadsTheSame) {
  ScratchDirectory dir;
  const std::string path = dir.file("copy.th");
  CheckpointRewriter copy(test_data(kFixture));
  EXPECT_EQ(copy.record_names().size(), 435u);
  EXPECT_TRUE(copy.has_record("data.pkl"));
  EXPECT_TRUE(copy.has_record("version"));
  EXPECT_TRUE(copy.has_record("data/432"));
  EXPECT_EQ(copy.record("version"), "3\n");
  copy.write(path);

  // Like torch.save, the records sit in an "archive/" folder of the zip.
  const std::string bytes = file_bytes(path);
  EXPECT_EQ(bytes.substr(0, 4), "PK\x03\x04");
  EXPECT_EQ(bytes.substr(30, 8), "archive/");

  const Checkpoint original = read_checkpoint(test_data(kFixture));
  const Checkpoint copied = read_checkpoint(path);
  EXPECT_EQ(copied.klass, original.klass);
  EXPECT_EQ(copied.kwargs.size(), original.kwargs.size());
  ASSERT_EQ(copied.state.size(), original.state.size());
  for (const auto& [name, tensor] : original.state) {
    EXPECT_TRUE(at::equal(copied.state.at(name), tensor)) << name;
  }
  EXPECT_EQ(CheckpointRewriter(path).record("data.pkl"), copy.record("data.pkl"));
}

TEST(CheckpointRewriter, ReplaceStringRenamesAStateKey) {
  ScratchDirectory dir;
  const std::string path = dir.file("renamed.th");
  CheckpointRewriter copy(test_data(kFixture));
  // Longer than 255 bytes: the length prefix must grow correctly too.
  const std::string long_name(300, 'x');
  EXPECT_EQ(copy.replace_string("encoder.0.conv.bias", "encoder.0.conv.bias_renamed"), 1);
  EXPECT_EQ(copy.replace_string("encoder.0.rewrite.weight", long_name), 1);
  copy.write(path);
  const Checkpoint c = read_checkpoint(path);
  EXPECT_EQ(c.state.size(), 433u);
  EXPECT_EQ(c.state.count("encoder.0.conv.bias"), 0u);
  EXPECT_EQ(c.state.at("encoder.0.conv.bias_renamed").sizes(), (at::IntArrayRef{8}));
  EXPECT_EQ(c.state.count(long_name), 1u);
  EXPECT_THROW(copy.replace_string("no such string", "x"), std::runtime_error);
}

TEST(CheckpointRewriter, RemoveEntry) {
  ScratchDirectory dir;
  const std::string path = dir.file("removed.th");
  CheckpointRewriter copy(test_data(kFixture));
  // The first tensor: later tensors reuse what its opcodes put in the memo.
  copy.remove_entry("encoder.0.conv.weight");
  copy.remove_entry("t_lr");
  copy.write(path);
  const Checkpoint c = read_checkpoint(path);
  EXPECT_EQ(c.state.size(), 432u);
  EXPECT_EQ(c.state.count("encoder.0.conv.weight"), 0u);
  EXPECT_EQ(c.state.at("encoder.0.conv.bias").sizes(), (at::IntArrayRef{8}));
  EXPECT_EQ(c.kwargs.size(), 61u);
  EXPECT_EQ(c.kwargs.count("t_lr"), 0u);
  EXPECT_THROW(copy.remove_entry("no such key"), std::runtime_error);
}

TEST(CheckpointRewriter, DuplicateEntry) {
  ScratchDirectory dir;
  const std::string path = dir.file("duplicated.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.duplicate_entry("encoder.0.conv.weight", "encoder.0.extra.weight");
  copy.duplicate_entry("segment", "segment_copy");
  copy.write(path);
  const Checkpoint c = read_checkpoint(path);
  EXPECT_EQ(c.state.size(), 434u);
  EXPECT_TRUE(at::equal(c.state.at("encoder.0.extra.weight"), c.state.at("encoder.0.conv.weight")));
  EXPECT_EQ(c.kwargs.at("segment_copy").repr(), "Fraction(2, 1)");
  EXPECT_EQ(c.kwargs.size(), 63u);
}

TEST(CheckpointRewriter, SetTensorShape) {
  ScratchDirectory dir;
  const std::string path = dir.file("reshaped.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.set_tensor_shape("encoder.0.conv.weight", {8, 4, 4, 1});
  copy.write(path);
  const Checkpoint original = read_checkpoint(test_data(kFixture));
  const Checkpoint c = read_checkpoint(path);
  const at::Tensor& reshaped = c.state.at("encoder.0.conv.weight");
  EXPECT_EQ(reshaped.sizes(), (at::IntArrayRef{8, 4, 4, 1}));
  EXPECT_EQ(reshaped.strides(), (at::IntArrayRef{16, 4, 1, 1}));
  EXPECT_TRUE(at::equal(reshaped.flatten(), original.state.at("encoder.0.conv.weight").flatten().slice(0, 0, 128)));
  EXPECT_TRUE(at::equal(c.state.at("encoder.0.conv.bias"), original.state.at("encoder.0.conv.bias")));
  EXPECT_THROW(copy.set_tensor_shape("depth", {1}), std::runtime_error);
}

TEST(CheckpointRewriter, SetEntryValue) {
  ScratchDirectory dir;
  const std::string path = dir.file("kwargs.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.set_entry_value("depth", testing::pickled_string("four"));
  copy.set_entry_value("channels_time", testing::pickled_int(-70000));
  copy.set_entry_value("cac", testing::pickled_bool(false));
  copy.set_entry_value("freq_emb", testing::pickled_float(-2.5));
  copy.set_entry_value("t_lr", testing::pickled_int(int64_t{1} << 40));
  copy.set_entry_value("sources", testing::pickled_int_tuple({1, 2, 3, 4, 5}));
  copy.set_entry_value("encoder.0.conv.weight", testing::pickled_none());
  copy.write(path);
  const PickleValue root = read_torch_save(path);
  const PickleValue& kwargs = *root.find("kwargs");
  EXPECT_EQ(kwargs.find("depth")->as_string(), "four");
  EXPECT_EQ(kwargs.find("channels_time")->as_int(), -70000);
  EXPECT_FALSE(kwargs.find("cac")->as_bool());
  EXPECT_EQ(kwargs.find("freq_emb")->as_double(), -2.5);
  EXPECT_EQ(kwargs.find("t_lr")->as_int(), int64_t{1} << 40);
  EXPECT_EQ(kwargs.find("sources")->repr(), "(1, 2, 3, 4, 5)");
  EXPECT_TRUE(root.find("state")->find("encoder.0.conv.weight")->is_none());
  EXPECT_EQ(root.find("state")->find("encoder.0.conv.bias")->as_tensor().numel(), 8);
}

TEST(CheckpointRewriter, SingleItemDictUsesSetItem) {
  // Python pickles a one-item dict with SETITEM instead of MARK ... SETITEMS.
  ScratchDirectory dir;
  CheckpointRewriter copy(test_data(kFixture));
  copy.set_record("data.pkl", testing::pickled_protocol_header() + "}" + testing::pickled_string("a") +
                                  testing::pickled_int(1) + "s" + testing::pickled_stop());
  copy.duplicate_entry("a", "b");
  copy.write(dir.file("two.th"));
  EXPECT_EQ(read_torch_save(dir.file("two.th")).repr(), "{'a': 1, 'b': 1}");

  copy.set_record("data.pkl", testing::pickled_protocol_header() + "}" + testing::pickled_string("a") +
                                  testing::pickled_int(1) + "s" + testing::pickled_stop());
  copy.remove_entry("a");
  copy.write(dir.file("none.th"));
  EXPECT_EQ(read_torch_save(dir.file("none.th")).repr(), "{}");
}

TEST(CheckpointRewriter, ReplaceGlobal) {
  CheckpointRewriter copy(test_data(kFixture));
  copy.replace_global("demucs.htdemucs.HTDemucs", "demucs.hdemucs.HDemucs");
  EXPECT_NE(copy.record("data.pkl").find("cdemucs.hdemucs\nHDemucs\n"), std::string::npos);
  EXPECT_EQ(copy.record("data.pkl").find("HTDemucs"), std::string::npos);
  EXPECT_THROW(copy.replace_global("demucs.htdemucs.HTDemucs", "a.b"), std::runtime_error);
  EXPECT_THROW(copy.replace_global("nodot", "a.b"), std::runtime_error);
}

TEST(CheckpointRewriter, RecordsAndTruncation) {
  ScratchDirectory dir;
  CheckpointRewriter copy(test_data(kFixture));
  copy.remove_record("data/0");
  EXPECT_FALSE(copy.has_record("data/0"));
  EXPECT_EQ(copy.record_names().size(), 434u);
  EXPECT_THROW(copy.remove_record("data/0"), std::runtime_error);
  EXPECT_THROW(copy.record("data/0"), std::runtime_error);
  copy.set_record("extra", "hello");
  EXPECT_EQ(copy.record("extra"), "hello");
  copy.write(dir.file("records.th"));
  const CheckpointRewriter reread(dir.file("records.th"));
  EXPECT_EQ(reread.record("extra"), "hello");
  EXPECT_FALSE(reread.has_record("data/0"));
  EXPECT_EQ(reread.record("version"), "3\n");

  testing::write_truncated_copy(test_data(kFixture), dir.file("short.th"), 1234);
  EXPECT_EQ(std::filesystem::file_size(dir.file("short.th")), 1234u);
  EXPECT_EQ(file_bytes(dir.file("short.th")), file_bytes(test_data(kFixture)).substr(0, 1234));
  EXPECT_THROW(testing::write_truncated_copy(test_data(kFixture), dir.file("long.th"), 100000000),
               std::runtime_error);
}

}  // namespace
}  // namespace demucs
