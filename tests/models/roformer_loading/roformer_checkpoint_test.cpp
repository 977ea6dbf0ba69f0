// The state_dict of a RoFormer .ckpt: the tiny fixtures as torch.save wrote
// them, the same weights in the wrappers training code saves them in
// (written here with the library's torch.save writer), and files that hold
// no state_dict.
#include "roformer/roformer_checkpoint.h"

#include "checkpoint/checkpoint_writer.h"
#include "checkpoint/pickle_value.h"
#include "demucs/demucs.h"
#include "support/scratch_directory.h"
#include "support/test_data.h"
#include "support/text_assertions.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace demucs {
namespace {

using testing::contains;
using testing::ScratchDirectory;
using testing::test_data;

using State = std::map<std::string, at::Tensor>;

const char* const kQkv = "layers.0.0.layers.0.0.to_qkv.weight";
const char* const kTimeFreqs = "layers.0.0.layers.0.0.rotary_embed.freqs";

PickleValue dict_of(const State& state, const std::string& prefix = "") {
  PickleDict items;
  for (const auto& [name, tensor] : state) {
    items.emplace_back(PickleValue::from_string(prefix + name), PickleValue::from_tensor(tensor));
  }
  return PickleValue::from_dict(std::move(items));
}

PickleValue wrapped(const std::string& key, PickleValue inner) {
  PickleDict items;
  items.emplace_back(PickleValue::from_string("epoch"), PickleValue::from_int(317));
  items.emplace_back(PickleValue::from_string(key), std::move(inner));
  return PickleValue::from_dict(std::move(items));
}

void expect_same_state(const State& read, const State& expected) {
  ASSERT_EQ(read.size(), expected.size());
  for (const auto& [name, tensor] : expected) {
    ASSERT_EQ(read.count(name), 1u) << name;
    EXPECT_TRUE(at::equal(read.at(name), tensor)) << name;
  }
}

std::string error_reading(const std::string& path) {
  try {
    read_roformer_state(path);
  } catch (const CheckpointError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no CheckpointError for " << path;
  return "";
}

TEST(RoformerCheckpoint, ReadsTheTinyBandSplitStateDict) {
  const State state = read_roformer_state(test_data("roformer/bs-tiny.ckpt"));
  EXPECT_EQ(state.size(), 479u);
  ASSERT_EQ(state.count(kQkv), 1u);
  EXPECT_EQ(state.at(kQkv).sizes(), (at::IntArrayRef{96, 32}));
  EXPECT_EQ(state.at(kQkv).scalar_type(), at::kFloat);
  EXPECT_EQ(state.at("mask_estimators.0.to_freqs.61.0.2.weight").sizes(), (at::IntArrayRef{1032, 32}));
  // RotaryEmbedding(dim_head 16): freqs = 10000^(-2i/16), i = 0..7.
  const at::Tensor freqs = state.at(kTimeFreqs);
  ASSERT_EQ(freqs.numel(), 8);
  for (int i = 0; i < 8; ++i) {
    EXPECT_NEAR(freqs[i].item<float>(), std::pow(10000.0, -2.0 * i / 16.0), 1e-6) << i;
  }
}

TEST(RoformerCheckpoint, ReadsTheTinyMelBandStateDict) {
  const State state = read_roformer_state(test_data("roformer/mel-tiny.ckpt"));
  EXPECT_EQ(state.size(), 588u);
  EXPECT_EQ(state.at("mask_estimators.0.to_freqs.59.0.4.weight").sizes(), (at::IntArrayRef{1040, 32}));
  int64_t parameters = 0;
  for (const auto& item : state) parameters += item.second.numel();
  // 962780 parameters (README of the fixtures), plus the rotary freqs buffers.
  EXPECT_GT(parameters, 962780);
}

TEST(RoformerCheckpoint, FindsTheStateDictInsideTrainingCheckpoints) {
  const State original = read_roformer_state(test_data("roformer/bs-tiny.ckpt"));
  ScratchDirectory folder;
  for (const char* key : {"state", "state_dict", "model_state_dict", "model"}) {
    SCOPED_TRACE(key);
    const std::string path = folder.file(std::string(key) + ".ckpt");
    write_torch_save(wrapped(key, dict_of(original)), path);
    expect_same_state(read_roformer_state(path), original);
  }
  // The reference unwraps one after the other: state, then state_dict inside it.
  const std::string nested = folder.file("nested.ckpt");
  write_torch_save(wrapped("state", wrapped("state_dict", dict_of(original))), nested);
  expect_same_state(read_roformer_state(nested), original);
}

TEST(RoformerCheckpoint, DropsTheDataParallelPrefix) {
  const State original = read_roformer_state(test_data("roformer/bs-tiny.ckpt"));
  ScratchDirectory folder;
  const std::string path = folder.file("parallel.ckpt");
  write_torch_save(dict_of(original, "module."), path);
  expect_same_state(read_roformer_state(path), original);
}

TEST(RoformerCheckpoint, KeepsHalfPrecisionTensorsAsStored) {
  const State original = read_roformer_state(test_data("roformer/bs-tiny.ckpt"));
  ScratchDirectory folder;
  for (const at::ScalarType dtype : {at::kHalf, at::kBFloat16}) {
    State converted;
    for (const auto& [name, tensor] : original) converted[name] = tensor.to(dtype);
    const std::string path = folder.file("half.ckpt");
    write_torch_save(dict_of(converted), path);
    const State read = read_roformer_state(path);
    ASSERT_EQ(read.size(), original.size());
    EXPECT_EQ(read.at(kQkv).scalar_type(), dtype);
    EXPECT_TRUE(at::equal(read.at(kQkv), converted.at(kQkv)));
  }
}

TEST(RoformerCheckpoint, AFileWithoutAStateDictIsACheckpointErrorNamingIt) {
  ScratchDirectory folder;
  const std::string list = folder.file("list.ckpt");
  write_torch_save(PickleValue::from_list({PickleValue::from_int(1)}), list);
  const std::string list_message = error_reading(list);
  EXPECT_TRUE(contains(list_message, list));
  EXPECT_TRUE(contains(list_message, "state_dict"));

  const std::string mixed = folder.file("mixed.ckpt");
  PickleDict items;
  items.emplace_back(PickleValue::from_string("weight"), PickleValue::from_tensor(at::ones({2})));
  items.emplace_back(PickleValue::from_string("optimizer"), PickleValue::from_string("adam"));
  write_torch_save(PickleValue::from_dict(std::move(items)), mixed);
  EXPECT_TRUE(contains(error_reading(mixed), "'optimizer'"));

  const std::string empty = folder.file("empty.ckpt");
  write_torch_save(PickleValue::from_dict({}), empty);
  EXPECT_TRUE(contains(error_reading(empty), "empty"));
}

TEST(RoformerCheckpoint, NotATorchSaveFileIsACheckpointErrorNamingIt) {
  const std::string yaml = test_data("roformer/bs-tiny.yaml");
  EXPECT_TRUE(contains(error_reading(yaml), yaml));
  EXPECT_TRUE(contains(error_reading("/nonexistent/model.ckpt"), "/nonexistent/model.ckpt"));
}

}  // namespace
}  // namespace demucs
