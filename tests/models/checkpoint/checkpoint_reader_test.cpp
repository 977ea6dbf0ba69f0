// The two fixture checkpoints load with exactly the values upstream stored
// (cross-checked with torch.load of the same files).
#include "checkpoint/checkpoint_reader.h"
#include "support/test_data.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace demucs {
namespace {

using testing::test_data;

int64_t parameter_count(const Checkpoint& checkpoint) {
  int64_t total = 0;
  for (const auto& [name, tensor] : checkpoint.state) {
    total += tensor.numel();
  }
  return total;
}

std::vector<std::string> strings(const PickleValue& list) {
  std::vector<std::string> out;
  for (const auto& item : list.as_list()) {
    out.push_back(item.as_string());
  }
  return out;
}

std::vector<double> doubles(const PickleValue& list) {
  std::vector<double> out;
  for (const auto& item : list.as_list()) {
    out.push_back(item.as_double());
  }
  return out;
}

// The first values of a tensor, as float.
std::vector<float> first_values(const at::Tensor& tensor, int64_t count) {
  const at::Tensor flat = tensor.flatten().slice(0, 0, count).to(at::kFloat).contiguous();
  return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + count);
}

TEST(CheckpointReader, Tiny4sClassAndKwargs) {
  const Checkpoint c = read_checkpoint(test_data("htdemucs-tiny-4s.th"));
  EXPECT_EQ(c.path, test_data("htdemucs-tiny-4s.th"));
  EXPECT_EQ(c.klass, "demucs.htdemucs.HTDemucs");
  EXPECT_EQ(c.kwargs.size(), 62u);

  const PickleValue& segment = c.kwargs.at("segment");
  ASSERT_EQ(segment.kind(), PickleValue::Kind::Fraction);
  EXPECT_EQ(segment.as_fraction().numerator, 2);
  EXPECT_EQ(segment.as_fraction().denominator, 1);
  EXPECT_EQ(segment.as_double(), 2.0);

  EXPECT_EQ(strings(c.kwargs.at("sources")), (std::vector<std::string>{"drums", "bass", "other", "vocals"}));
  EXPECT_EQ(c.kwargs.at("sources").kind(), PickleValue::Kind::List);
  EXPECT_EQ(c.kwargs.at("audio_channels").as_int(), 2);
  EXPECT_EQ(c.kwargs.at("samplerate").as_int(), 44100);
  EXPECT_EQ(c.kwargs.at("channels").as_int(), 8);
  EXPECT_EQ(c.kwargs.at("nfft").as_int(), 4096);
  EXPECT_EQ(c.kwargs.at("depth").as_int(), 4);
  EXPECT_EQ(c.kwargs.at("dconv_mode").as_int(), 3);
  EXPECT_EQ(c.kwargs.at("bottom_channels").as_int(), 32);
  EXPECT_EQ(c.kwargs.at("t_layers").as_int(), 2);
  EXPECT_EQ(c.kwargs.at("t_max_positions").as_int(), 10000);
  EXPECT_EQ(c.kwargs.at("t_mask_random_seed").as_int(), 42);

  EXPECT_TRUE(c.kwargs.at("channels_time").is_none());
  EXPECT_TRUE(c.kwargs.at("t_lr").is_none());

  EXPECT_EQ(c.kwargs.at("cac").kind(), PickleValue::Kind::Bool);
  EXPECT_TRUE(c.kwargs.at("cac").as_bool());
  EXPECT_TRUE(c.kwargs.at("rewrite").as_bool());
  EXPECT_TRUE(c.kwargs.at("t_norm_first").as_bool());
  EXPECT_FALSE(c.kwargs.at("wiener_residual").as_bool());
  EXPECT_FALSE(c.kwargs.at("t_cross_first").as_bool());

  EXPECT_EQ(c.kwargs.at("freq_emb").kind(), PickleValue::Kind::Float);
  EXPECT_EQ(c.kwargs.at("freq_emb").as_double(), 0.2);
  EXPECT_EQ(c.kwargs.at("dconv_init").as_double(), 0.001);
  EXPECT_EQ(c.kwargs.at("t_hidden_scale").as_double(), 4.0);
  EXPECT_EQ(c.kwargs.at("t_hidden_scale").kind(), PickleValue::Kind::Float);
  EXPECT_EQ(c.kwargs.at("t_max_period").as_double(), 10000.0);
  EXPECT_EQ(c.kwargs.at("t_sparsity").as_double(), 0.95);
  EXPECT_EQ(c.kwargs.at("rescale").as_double(), 0.1);
  EXPECT_EQ(doubles(c.kwargs.at("t_cape_glob_loc_scale")), (std::vector<double>{5000.0, 1.0, 1.4}));

  EXPECT_EQ(c.kwargs.at("t_emb").as_string(), "sin");
  EXPECT_EQ(c.kwargs.at("t_mask_type").as_string(), "diag");
  EXPECT_EQ(c.kwargs.at("multi_freqs").kind(), PickleValue::Kind::List);
  EXPECT_TRUE(c.kwargs.at("multi_freqs").as_list().empty());
  EXPECT_EQ(c.kwargs.at("t_cape_glob_loc_scale").repr(), "[5000.0, 1.0, 1.4]");
  EXPECT_EQ(segment.repr(), "Fraction(2, 1)");
}

TEST(CheckpointReader, Tiny4sState) {
  const Checkpoint c = read_checkpoint(test_data("htdemucs-tiny-4s.th"));
  EXPECT_EQ(c.state.size(), 433u);
  EXPECT_EQ(parameter_count(c), 339936);
  for (const auto& [name, tensor] : c.state) {
    EXPECT_EQ(tensor.scalar_type(), at::kHalf) << name;
    EXPECT_TRUE(tensor.device().is_cpu()) << name;
  }

  const at::Tensor& weight = c.state.at("encoder.0.conv.weight");
  EXPECT_EQ(weight.sizes(), (at::IntArrayRef{8, 4, 8, 1}));
  EXPECT_EQ(weight.strides(), (at::IntArrayRef{32, 8, 1, 1}));
  EXPECT_EQ(first_values(weight, 4),
            (std::vector<float>{-0.0013170242309570312f, 0.09442138671875f, -0.144775390625f, -0.1295166015625f}));
  EXPECT_EQ(weight.flatten()[-1].item<float>(), -0.0650634765625f);
  EXPECT_NEAR(weight.to(at::kDouble).sum().item<double>(), -2.029780149459839, 1e-12);

  const at::Tensor& scale = c.state.at("crosstransformer.layers_t.1.gamma_2.scale");
  EXPECT_EQ(scale.sizes(), (at::IntArrayRef{32}));
  EXPECT_EQ(scale[0].item<float>(), 0.01000213623046875f);
  EXPECT_EQ(scale.to(at::kDouble).sum().item<double>(), 0.320068359375);

  const at::Tensor& embedding = c.state.at("freq_emb.embedding.weight");
  EXPECT_EQ(embedding.sizes(), (at::IntArrayRef{512, 8}));
  EXPECT_EQ(first_values(embedding, 4),
            (std::vector<float>{0.07415771484375f, -0.1612548828125f, 0.02740478515625f, -0.06854248046875f}));
  EXPECT_NEAR(embedding.to(at::kDouble).sum().item<double>(), -91.82261312007904, 1e-9);
}

TEST(CheckpointReader, Tiny6s) {
  const Checkpoint c = read_checkpoint(test_data("htdemucs-tiny-6s.th"));
  EXPECT_EQ(c.klass, "demucs.htdemucs.HTDemucs");
  EXPECT_EQ(c.kwargs.size(), 62u);
  const Fraction segment = c.kwargs.at("segment").as_fraction();
  EXPECT_EQ(segment.numerator, 3);
  EXPECT_EQ(segment.denominator, 1);
  EXPECT_EQ(strings(c.kwargs.at("sources")),
            (std::vector<std::string>{"drums", "bass", "other", "vocals", "guitar", "piano"}));
  EXPECT_EQ(c.kwargs.at("dconv_mode").as_int(), 1);
  EXPECT_EQ(c.kwargs.at("bottom_channels").as_int(), 0);
  EXPECT_EQ(c.kwargs.at("t_layers").as_int(), 3);
  EXPECT_TRUE(c.kwargs.at("channels_time").is_none());
  EXPECT_TRUE(c.kwargs.at("t_lr").is_none());
  EXPECT_FALSE(c.kwargs.at("t_auto_sparsity").as_bool());
  EXPECT_EQ(doubles(c.kwargs.at("t_cape_glob_loc_scale")), (std::vector<double>{5000.0, 1.0, 1.4}));

  EXPECT_EQ(c.state.size(), 313u);
  EXPECT_EQ(parameter_count(c), 565560);
  for (const auto& [name, tensor] : c.state) {
    EXPECT_EQ(tensor.scalar_type(), at::kHalf) << name;
  }
  const at::Tensor& weight = c.state.at("encoder.0.conv.weight");
  EXPECT_EQ(first_values(weight, 4),
            (std::vector<float>{0.08990478515625f, -0.0770263671875f, -0.0338134765625f, 0.0819091796875f}));
  EXPECT_NEAR(weight.to(at::kDouble).sum().item<double>(), 1.4393644332885742, 1e-12);
  EXPECT_EQ(c.state.at("crosstransformer.layers_t.2.gamma_2.scale").sizes(), (at::IntArrayRef{64}));
  EXPECT_NEAR(c.state.at("freq_emb.embedding.weight").to(at::kDouble).sum().item<double>(), 3.4912445545196533,
              1e-9);
}

TEST(CheckpointReader, EveryTensorHasItsOwnStorage) {
  // Official files store one record per state tensor; tensors must not alias.
  const Checkpoint c = read_checkpoint(test_data("htdemucs-tiny-4s.th"));
  std::set<const void*> storages;
  for (const auto& [name, tensor] : c.state) {
    storages.insert(tensor.storage().data());
  }
  EXPECT_EQ(storages.size(), c.state.size());
}

TEST(CheckpointReader, ReadTorchSaveGivesTheWholeDict) {
  const PickleValue root = read_torch_save(test_data("htdemucs-tiny-4s.th"));
  ASSERT_EQ(root.kind(), PickleValue::Kind::Dict);
  std::vector<std::string> keys;
  for (const auto& [key, value] : root.as_dict()) {
    keys.push_back(key.as_string());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"klass", "args", "kwargs", "state", "training_args"}));
  EXPECT_EQ(root.find("klass")->kind(), PickleValue::Kind::Global);
  EXPECT_EQ(root.find("args")->kind(), PickleValue::Kind::Tuple);
  EXPECT_TRUE(root.find("args")->as_list().empty());
  EXPECT_TRUE(root.find("training_args")->as_dict().empty());
  EXPECT_EQ(root.find("state")->as_dict().size(), 433u);
}

}  // namespace
}  // namespace demucs
