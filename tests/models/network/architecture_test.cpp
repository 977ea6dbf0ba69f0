// Architectures the fixtures do not cover, built with random weights: the
// official full-size ones must have exactly upstream's tensors, and options
// the fixtures leave at one value must build and run.
#include "network/official_architectures.h"
#include "checkpoint/checkpoint_reader.h"
#include "network/htdemucs.h"
#include "support/test_data.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace demucs {
namespace {

TEST(Architecture, OfficialHTDemucsHasUpstreamsStateSize) {
  // Upstream: len(HTDemucs(**kwargs).state_dict()) and the sum of numel().
  auto model = HTDemucs::with_random_weights(official_htdemucs_kwargs(), at::kCPU);
  EXPECT_EQ(model->tensor_count(), 533);
  EXPECT_EQ(model->parameter_count(), 41984456);
  EXPECT_EQ(model->config().training_length(), 343980);  // int(39/5 * 44100)
}

TEST(Architecture, OfficialSixSourceHTDemucsHasUpstreamsStateSize) {
  auto kwargs = official_htdemucs_kwargs();
  PickleList sources;
  for (const char* name : {"drums", "bass", "other", "vocals", "guitar", "piano"}) {
    sources.push_back(PickleValue::from_string(name));
  }
  kwargs["sources"] = PickleValue::from_list(sources);
  auto model = HTDemucs::with_random_weights(kwargs, at::kCPU);
  EXPECT_EQ(model->tensor_count(), 533);
  EXPECT_EQ(model->parameter_count(), 41989076);
}

TEST(Architecture, FixtureCheckpointsTakeEveryTensor) {
  auto model = HTDemucs::from_checkpoint(read_checkpoint(testing::test_data("htdemucs-tiny-4s.th")), at::kCPU);
  EXPECT_EQ(model->parameter_count(), 339936);
}

// The tiny-4s kwargs with one option changed.
std::map<std::string, PickleValue> tiny_kwargs_with(const std::string& key, PickleValue value) {
  auto kwargs = read_checkpoint(testing::test_data("htdemucs-tiny-4s.th")).kwargs;
  kwargs[key] = std::move(value);
  return kwargs;
}

struct Variant {
  std::string key;
  PickleValue value;
};

class ArchitectureVariant : public ::testing::TestWithParam<Variant> {};

TEST_P(ArchitectureVariant, BuildsAndSeparates) {
  auto model = HTDemucs::with_random_weights(tiny_kwargs_with(GetParam().key, GetParam().value), at::kCPU);
  const at::Tensor out = model->forward(at::randn({1, 2, 30000}) * 0.1);
  EXPECT_EQ(out.sizes(), (at::IntArrayRef{1, 4, 2, 30000}));
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
}

INSTANTIATE_TEST_SUITE_P(
    Options, ArchitectureVariant,
    ::testing::Values(Variant{"norm_starts", PickleValue::from_int(2)},       // GroupNorm in the deep layers
                      Variant{"t_emb", PickleValue::from_string("cape")},
                      Variant{"t_emb", PickleValue::from_string("scaled")},
                      Variant{"t_cross_first", PickleValue::from_bool(true)},
                      Variant{"t_norm_first", PickleValue::from_bool(false)},
                      Variant{"t_group_norm", PickleValue::from_bool(true)},
                      Variant{"t_layers", PickleValue::from_int(0)},
                      Variant{"bottom_channels", PickleValue::from_int(0)},
                      Variant{"dconv_mode", PickleValue::from_int(0)},
                      Variant{"context_enc", PickleValue::from_int(1)},
                      Variant{"rewrite", PickleValue::from_bool(false)},
                      Variant{"freq_emb", PickleValue::from_float(0.0)},
                      Variant{"depth", PickleValue::from_int(5)}),      // the last layer merges the branches
    [](const ::testing::TestParamInfo<Variant>& info) {
      return info.param.key + "_" + std::to_string(info.index);
    });

}  // namespace
}  // namespace demucs
