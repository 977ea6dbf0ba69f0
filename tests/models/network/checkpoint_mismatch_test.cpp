// Checkpoints whose content does not fit HTDemucs: each made by altering a
// fixture file, each error naming the file and what is wrong.
#include "checkpoint/checkpoint_reader.h"
#include "network/htdemucs.h"
#include "network/shared_models.h"
#include "support/checkpoint_rewriter.h"
#include "support/scratch_directory.h"
#include "support/test_data.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace demucs {
namespace {

using testing::CheckpointRewriter;
using testing::ScratchDirectory;
using testing::test_data;

// Writes an altered copy of the tiny-4s checkpoint and returns the message of
// the error that building the network raises (or "" if it builds).
template <typename Error>
std::string build_error(const std::function<void(CheckpointRewriter&)>& alter, std::string* path_out = nullptr) {
  static ScratchDirectory scratch;
  static int counter = 0;
  const std::string path = scratch.file("altered-" + std::to_string(++counter) + ".th");
  CheckpointRewriter copy(test_data("htdemucs-tiny-4s.th"));
  alter(copy);
  copy.write(path);
  if (path_out) *path_out = path;
  try {
    HTDemucs::from_checkpoint(read_checkpoint(path), at::kCPU);
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << "the message does not name the file: " << message;
    return message;
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(CheckpointMismatch, AnotherModelClassIsNamed) {
  const std::string message = build_error<UnsupportedModelError>(
      [](CheckpointRewriter& c) { c.replace_global("demucs.htdemucs.HTDemucs", "demucs.hdemucs.HDemucs"); });
  EXPECT_TRUE(contains(message, "demucs.hdemucs.HDemucs")) << message;
  EXPECT_TRUE(contains(message, "only HTDemucs")) << message;
}

TEST(CheckpointMismatch, MissingTensorIsNamed) {
  const std::string message =
      build_error<StateMismatchError>([](CheckpointRewriter& c) { c.remove_entry("encoder.1.conv.bias"); });
  EXPECT_TRUE(contains(message, "'encoder.1.conv.bias' is missing")) << message;
}

TEST(CheckpointMismatch, UnexpectedTensorIsNamed) {
  const std::string message = build_error<StateMismatchError>(
      [](CheckpointRewriter& c) { c.duplicate_entry("encoder.1.conv.bias", "encoder.9.conv.bias"); });
  EXPECT_TRUE(contains(message, "unexpected tensor 'encoder.9.conv.bias'")) << message;
}

TEST(CheckpointMismatch, WrongShapeIsNamedWithBothShapes) {
  const std::string message = build_error<StateMismatchError>(
      [](CheckpointRewriter& c) { c.set_tensor_shape("tencoder.0.conv.weight", {8, 2, 4}); });
  EXPECT_TRUE(contains(message, "'tencoder.0.conv.weight' has shape (8, 2, 4)")) << message;
  EXPECT_TRUE(contains(message, "need (8, 2, 8)")) << message;
}

TEST(CheckpointMismatch, KwargsThatDisagreeWithTheStateAreCaught) {
  // depth 3 with a depth-4 state: the deepest decoder is a different size.
  const std::string message = build_error<StateMismatchError>(
      [](CheckpointRewriter& c) { c.set_entry_value("depth", testing::pickled_int(3)); });
  EXPECT_TRUE(contains(message, "'decoder.0.conv_tr.weight' has shape (64, 32, 8, 1)")) << message;
}

TEST(CheckpointMismatch, UnsupportedOptionsAreNamed) {
  const std::string sparse = build_error<UnsupportedModelError>(
      [](CheckpointRewriter& c) { c.set_entry_value("t_sparse_self_attn", testing::pickled_bool(true)); });
  EXPECT_TRUE(contains(sparse, "t_sparse_self_attn=True")) << sparse;
  const std::string emb = build_error<UnsupportedModelError>(
      [](CheckpointRewriter& c) { c.set_entry_value("t_emb", testing::pickled_string("rope")); });
  EXPECT_TRUE(contains(emb, "t_emb='rope'")) << emb;
  const std::string cac = build_error<UnsupportedModelError>(
      [](CheckpointRewriter& c) { c.set_entry_value("cac", testing::pickled_bool(false)); });
  EXPECT_TRUE(contains(cac, "cac=False")) << cac;
  const std::string wrong_type = build_error<UnsupportedModelError>(
      [](CheckpointRewriter& c) { c.set_entry_value("depth", testing::pickled_string("four")); });
  EXPECT_TRUE(contains(wrong_type, "depth")) << wrong_type;
  const std::string unknown = build_error<UnsupportedModelError>(
      [](CheckpointRewriter& c) { c.duplicate_entry("depth", "t_flash_attention"); });
  EXPECT_TRUE(contains(unknown, "unknown HTDemucs option 't_flash_attention'")) << unknown;
}

TEST(CheckpointMismatch, TrainingOnlyOptionsDoNotMatter) {
  // Dropout and weight decay have no effect in eval mode: other values load.
  const std::string message = build_error<std::exception>([](CheckpointRewriter& c) {
    c.set_entry_value("t_dropout", testing::pickled_float(0.5));
    c.set_entry_value("rescale", testing::pickled_float(0.2));
  });
  EXPECT_EQ(message, "");
}

TEST(SharedModels, SameFileAndDeviceGiveTheSameLoadedModel) {
  const std::string path = test_data("htdemucs-tiny-4s.th");
  auto first = load_shared_htdemucs(path, at::kCPU);
  auto second = load_shared_htdemucs(path, at::kCPU);
  EXPECT_EQ(first.get(), second.get());
  auto other = load_shared_htdemucs(test_data("htdemucs-tiny-6s.th"), at::kCPU);
  EXPECT_NE(first.get(), other.get());
  // Once nobody holds it, it is released (the pool keeps no strong reference).
  std::weak_ptr<HTDemucs> watch = first;
  first.reset();
  second.reset();
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace demucs
