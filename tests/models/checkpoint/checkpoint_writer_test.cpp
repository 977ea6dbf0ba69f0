// The checkpoint writer: the fixture written back reads the same (klass,
// kwargs, every tensor bit for bit, the same network output), random-weight
// networks survive the trip, the pickle is laid out as upstream's, and every
// value kind the writer accepts reads back as it was.
#include "checkpoint/checkpoint_writer.h"

#include "checkpoint/checkpoint_reader.h"
#include "checkpoint/pickle_writer.h"
#include "network/htdemucs.h"
#include "support/checkpoint_rewriter.h"
#include "support/scratch_directory.h"
#include "support/test_data.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

namespace demucs {
namespace {

using testing::CheckpointRewriter;
using testing::ScratchDirectory;
using testing::test_data;

constexpr const char* kHTDemucs = "demucs.htdemucs.HTDemucs";

// Same dtype, shape and bytes.
::testing::AssertionResult bit_identical(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) {
    return ::testing::AssertionFailure() << c10::toString(a.scalar_type()) << a.sizes() << " vs "
                                         << c10::toString(b.scalar_type()) << b.sizes();
  }
  const at::Tensor ca = a.contiguous();
  const at::Tensor cb = b.contiguous();
  if (std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) != 0) {
    return ::testing::AssertionFailure() << "the values differ";
  }
  return ::testing::AssertionSuccess();
}

void expect_same_kwargs(const std::map<std::string, PickleValue>& actual,
                        const std::map<std::string, PickleValue>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [key, value] : expected) {
    ASSERT_EQ(actual.count(key), 1u) << key;
    EXPECT_EQ(actual.at(key).kind(), value.kind()) << key;
    EXPECT_EQ(actual.at(key).repr(), value.repr()) << key;
  }
}

at::Tensor test_mix(int64_t length) {
  at::manual_seed(3);
  return at::randn({1, 2, length}) * 0.1;
}

std::map<std::string, at::Tensor> converted(const std::map<std::string, at::Tensor>& state, at::ScalarType dtype) {
  std::map<std::string, at::Tensor> result;
  for (const auto& [name, tensor] : state) {
    result[name] = tensor.to(dtype);
  }
  return result;
}

TEST(CheckpointWriter, FixtureWrittenBackReadsTheSame) {
  ScratchDirectory dir;
  const Checkpoint original = read_checkpoint(test_data("htdemucs-tiny-4s.th"));
  write_checkpoint(original, dir.file("copy.th"));
  const Checkpoint copy = read_checkpoint(dir.file("copy.th"));

  EXPECT_EQ(copy.klass, original.klass);
  expect_same_kwargs(copy.kwargs, original.kwargs);
  ASSERT_EQ(copy.state.size(), original.state.size());
  for (const auto& [name, tensor] : original.state) {
    ASSERT_EQ(copy.state.count(name), 1u) << name;
    EXPECT_EQ(tensor.scalar_type(), at::kHalf) << name;
    EXPECT_TRUE(bit_identical(copy.state.at(name), tensor)) << name;
  }

  const auto original_model = HTDemucs::from_checkpoint(original, at::kCPU);
  const auto copied_model = HTDemucs::from_checkpoint(copy, at::kCPU);
  const at::Tensor mix = test_mix(original_model->config().training_length());
  EXPECT_TRUE(bit_identical(copied_model->forward(mix), original_model->forward(mix)));
}

TEST(CheckpointWriter, NetworkStateIsTheCheckpointsTensorsInFloat32) {
  const Checkpoint checkpoint = read_checkpoint(test_data("htdemucs-tiny-4s.th"));
  const auto model = HTDemucs::from_checkpoint(checkpoint, at::kCPU);
  ASSERT_EQ(model->state().size(), checkpoint.state.size());
  EXPECT_EQ(static_cast<int64_t>(model->state().size()), model->tensor_count());
  for (const auto& [name, tensor] : checkpoint.state) {
    ASSERT_EQ(model->state().count(name), 1u) << name;
    EXPECT_TRUE(bit_identical(model->state().at(name), tensor.to(at::kFloat))) << name;
  }
}

TEST(CheckpointWriter, RandomWeightNetworkWrittenAndReadGivesTheSameOutput) {
  ScratchDirectory dir;
  const auto kwargs = read_checkpoint(test_data("htdemucs-tiny-4s.th")).kwargs;
  const auto model = HTDemucs::with_random_weights(kwargs, at::kCPU, 7);
  const at::Tensor mix = test_mix(model->config().training_length());
  const at::Tensor expected = model->forward(mix);

  // float32 as the network holds it: the same network.
  write_checkpoint(Checkpoint{"", kHTDemucs, kwargs, model->state()}, dir.file("float.th"));
  const auto from_float = HTDemucs::from_checkpoint(read_checkpoint(dir.file("float.th")), at::kCPU);
  EXPECT_TRUE(bit_identical(from_float->forward(mix), expected));

  // float16 as official files hold it: the same as the float16 state loaded directly.
  const Checkpoint half{"", kHTDemucs, kwargs, converted(model->state(), at::kHalf)};
  write_checkpoint(half, dir.file("half.th"));
  const Checkpoint half_read = read_checkpoint(dir.file("half.th"));
  for (const auto& [name, tensor] : half.state) {
    EXPECT_TRUE(bit_identical(half_read.state.at(name), tensor)) << name;
  }
  const at::Tensor from_half = HTDemucs::from_checkpoint(half_read, at::kCPU)->forward(mix);
  EXPECT_TRUE(bit_identical(from_half, HTDemucs::from_checkpoint(half, at::kCPU)->forward(mix)));
  EXPECT_FALSE(bit_identical(from_half, expected));  // rounded to float16: close, not equal
  EXPECT_TRUE(at::allclose(from_half, expected, 1e-2, 1e-3));

  // A different seed is a different network (the seed is not ignored).
  EXPECT_FALSE(bit_identical(HTDemucs::with_random_weights(kwargs, at::kCPU, 8)->forward(mix), expected));
}

TEST(CheckpointWriter, PickleIsLaidOutAsUpstreamsCheckpoints) {
  ScratchDirectory dir;
  std::map<std::string, PickleValue> kwargs;
  kwargs["segment"] = PickleValue::from_fraction({39, 5});
  std::map<std::string, at::Tensor> state;
  state["a.weight"] = at::ones({2, 3}, at::kHalf);
  state["b.bias"] = at::zeros({4}, at::kHalf);
  write_checkpoint(Checkpoint{"", kHTDemucs, kwargs, state}, dir.file("small.th"));

  const CheckpointRewriter records(dir.file("small.th"));
  EXPECT_EQ(records.record_names().size(), 4u);  // data.pkl, data/0, data/1, version
  EXPECT_EQ(records.record("version"), "3\n");
  EXPECT_EQ(records.record("data/0").size(), 6u * 2);
  EXPECT_EQ(records.record("data/1").size(), 4u * 2);
  const std::string& pickle = records.record("data.pkl");
  EXPECT_EQ(pickle.substr(0, 2), testing::pickled_protocol_header());
  EXPECT_EQ(pickle.back(), '.');
  EXPECT_NE(pickle.find(testing::pickled_global("demucs.htdemucs", "HTDemucs")), std::string::npos);
  // Fraction('39/5'): the global, memoized, then REDUCE of the 1-tuple of its str().
  EXPECT_NE(pickle.find(testing::pickled_global("fractions", "Fraction") + "q\x01" +
                        testing::pickled_string("39/5") + "\x85R"),
            std::string::npos);
  EXPECT_NE(pickle.find(testing::pickled_string("storage") + testing::pickled_global("torch", "HalfStorage")),
            std::string::npos);
  EXPECT_NE(pickle.find(testing::pickled_global("torch._utils", "_rebuild_tensor_v2")), std::string::npos);
  // Each global once; the second tensor refers to them through the memo.
  EXPECT_EQ(pickle.find(testing::pickled_global("torch", "HalfStorage")),
            pickle.rfind(testing::pickled_global("torch", "HalfStorage")));

  const PickleValue root = read_torch_save(dir.file("small.th"));
  ASSERT_NE(root.find("args"), nullptr);
  EXPECT_EQ(root.find("args")->repr(), "()");
  ASSERT_NE(root.find("training_args"), nullptr);
  EXPECT_TRUE(root.find("training_args")->is_none());
  const Fraction segment = read_checkpoint(dir.file("small.th")).kwargs.at("segment").as_fraction();
  EXPECT_EQ(segment.numerator, 39);
  EXPECT_EQ(segment.denominator, 5);
}

TEST(CheckpointWriter, EveryValueKindReadsBack) {
  ScratchDirectory dir;
  PickleList many;
  for (int i = 0; i < 2500; ++i) {  // more than one batch of APPENDS
    many.push_back(PickleValue::from_int(i));
  }
  PickleList values = {PickleValue::none(),
                       PickleValue::from_bool(true),
                       PickleValue::from_bool(false),
                       PickleValue::from_int(0),
                       PickleValue::from_int(255),
                       PickleValue::from_int(256),
                       PickleValue::from_int(65536),
                       PickleValue::from_int(-5),
                       PickleValue::from_int(int64_t{1} << 40),
                       PickleValue::from_int(-(int64_t{1} << 40)),
                       PickleValue::from_float(0.1),
                       PickleValue::from_float(-2.5e-300),
                       PickleValue::from_string(""),
                       PickleValue::from_string("vocals \xc3\xa9"),
                       PickleValue::from_string(std::string(300, 'x')),
                       PickleValue::from_list({}),
                       PickleValue::from_list({PickleValue::from_string("one")}),
                       PickleValue::from_list(many),
                       PickleValue::from_tuple({}),
                       PickleValue::from_tuple({PickleValue::from_int(1)}),
                       PickleValue::from_tuple({PickleValue::from_int(1), PickleValue::from_int(2)}),
                       PickleValue::from_tuple({PickleValue::from_int(1), PickleValue::from_int(2),
                                                PickleValue::from_int(3)}),
                       PickleValue::from_tuple({PickleValue::from_int(1), PickleValue::from_int(2),
                                                PickleValue::from_int(3), PickleValue::none()}),
                       PickleValue::from_fraction({2, 1}),
                       PickleValue::from_fraction({-7, 3}),
                       PickleValue::from_global("demucs.hdemucs.HDemucs")};
  PickleDict dict;
  for (size_t i = 0; i < values.size(); ++i) {
    dict.emplace_back(PickleValue::from_string("v" + std::to_string(i)), values[i]);
  }
  dict.emplace_back(PickleValue::from_string("nested"),
                    PickleValue::from_dict({{PickleValue::from_string("k"), PickleValue::from_int(1)}}));
  dict.emplace_back(PickleValue::from_string("empty"), PickleValue::from_dict({}));
  write_torch_save(PickleValue::from_dict(dict), dir.file("values.th"));

  const PickleValue root = read_torch_save(dir.file("values.th"));
  ASSERT_EQ(root.as_dict().size(), dict.size());
  for (size_t i = 0; i < dict.size(); ++i) {
    EXPECT_EQ(root.as_dict()[i].first.as_string(), dict[i].first.as_string());
    EXPECT_EQ(root.as_dict()[i].second.kind(), dict[i].second.kind()) << dict[i].first.as_string();
    EXPECT_EQ(root.as_dict()[i].second.repr(), dict[i].second.repr()) << dict[i].first.as_string();
  }
  EXPECT_EQ(root.find("v17")->as_list().size(), 2500u);
  EXPECT_EQ(root.find("v17")->as_list()[2499].as_int(), 2499);
  EXPECT_EQ(root.find("v14")->as_string(), std::string(300, 'x'));
}

TEST(CheckpointWriter, TensorsOfEveryLayoutReadBackWithTheirValues) {
  ScratchDirectory dir;
  at::manual_seed(5);
  const at::Tensor matrix = at::randn({3, 4});
  std::map<std::string, at::Tensor> tensors = {
      {"float", at::randn({2, 3, 4})},
      {"half", at::randn({5}).to(at::kHalf)},
      {"bfloat16", at::randn({2, 2}).to(at::kBFloat16)},
      {"double", at::randn({3}, at::kDouble)},
      {"long", at::arange(10)},
      {"bool", at::randn({6}) > 0},
      {"scalar", at::scalar_tensor(1.5)},
      {"empty", at::zeros({0, 5})},
      {"transposed", matrix.t()},             // not contiguous
      {"row", matrix.select(0, 2)},           // contiguous, inside a larger storage
      {"strided", matrix.slice(1, 0, 4, 2)},  // every other column
  };
  PickleDict dict;
  for (const auto& [name, tensor] : tensors) {
    dict.emplace_back(PickleValue::from_string(name), PickleValue::from_tensor(tensor));
  }
  write_torch_save(PickleValue::from_dict(dict), dir.file("tensors.th"));
  EXPECT_EQ(CheckpointRewriter(dir.file("tensors.th")).record("data/9").size(), 3u * 2 * 4);  // "strided"

  const auto read = read_tensor_dict(dir.file("tensors.th"));
  ASSERT_EQ(read.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    EXPECT_TRUE(bit_identical(read.at(name), tensor)) << name;
  }
}

TEST(CheckpointWriter, WhatCannotBeWrittenIsAnErrorNamingTheFile) {
  ScratchDirectory dir;
  const auto message = [](const std::function<void()>& write) -> std::string {
    try {
      write();
    } catch (const CheckpointError& e) {
      return e.what();
    }
    return "no error";
  };
  std::map<std::string, PickleValue> kwargs;
  const std::string missing_folder = dir.file("no/such/folder/model.th");
  EXPECT_NE(message([&] { write_checkpoint(Checkpoint{"", kHTDemucs, kwargs, {}}, missing_folder); })
                .find(missing_folder + ": cannot write"),
            std::string::npos);

  const std::string path = dir.file("object.th");
  kwargs["opaque"] = PickleValue::from_object("omegaconf.DictConfig", PickleValue::none());
  EXPECT_NE(message([&] { write_checkpoint(Checkpoint{"", kHTDemucs, kwargs, {}}, path); })
                .find(path + ": cannot write: cannot pickle a"),
            std::string::npos);
  kwargs.clear();
  kwargs["complex"] = PickleValue::from_tensor(at::empty({2}, at::kComplexHalf));
  EXPECT_NE(message([&] { write_checkpoint(Checkpoint{"", kHTDemucs, kwargs, {}}, path); })
                .find("no storage class for tensors of type"),
            std::string::npos);
  EXPECT_NE(message([&] { write_checkpoint(Checkpoint{"", "HTDemucs", {}, {}}, path); }).find("not a module.name"),
            std::string::npos);
}

}  // namespace
}  // namespace demucs
