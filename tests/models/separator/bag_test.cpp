// Bags of models (htdemucs_ft style): the weighted estimate of upstream's
// BagOfModels, shift offsets drawn model by model, and models that do not
// contribute to the requested stems never run.
#include "fake_models.h"
#include "reference_apply_model.h"
#include "stream_runner.h"

#include "separator/separate.h"
#include "separator/stream_separator.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>

namespace demucs::testing {
namespace {

constexpr int kRate = 200;

struct FourModels {
  std::vector<std::shared_ptr<MirrorModel>> models;
  ModelBag bag;
  ReferenceBag reference;

  explicit FourModels(const std::vector<std::vector<double>>& weights) {
    for (int m = 0; m < 4; ++m) {
      models.push_back(std::make_shared<MirrorModel>(kRate, 0.5, 1.0 + 0.5 * m));
      bag.push_back(WeightedModel{models.back(), weights[m]});
      reference.models.push_back(models.back());
      reference.weights.push_back(weights[m]);
    }
  }
  std::vector<int> calls() const {
    std::vector<int> counts;
    for (const auto& model : models) {
      counts.push_back(model->calls());
    }
    return counts;
  }
};

const std::vector<std::vector<double>> kOneHot = {
    {1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};

at::Tensor reference_bag(const ReferenceBag& bag, const at::Tensor& mix,
                         const ReferenceOptions& options, std::uint64_t seed) {
  PythonRandom random(seed);
  return reference_apply_bag(bag, mix.unsqueeze(0), random, options).squeeze(0);
}

TEST(SeparatorBag, WeightedBagMatchesUpstream) {
  FourModels four({{1, 0.5, 0, 2}, {0.25, 1, 1, 0}, {1, 1, 1, 1}, {0, 3, 0.5, 1}});
  const at::Tensor mix = test_signal(2, 333, 31);
  SeparatorOptions options;
  options.shifts = 2;
  options.seed = 5;
  StreamSeparator separator(four.bag, options);
  const at::Tensor streamed = run_stream(separator, mix, 120, 6);
  ReferenceOptions upstream;
  upstream.shifts = 2;
  const std::vector<int> streamed_calls = four.calls();
  expect_same_numbers(reference_bag(four.reference, mix, upstream, 5), streamed);
  for (int count : streamed_calls) {
    EXPECT_GT(count, 0);
  }
}

TEST(SeparatorBag, OneHotBagRunsOnlyTheModelOfTheRequestedStem) {
  FourModels four(kOneHot);
  const at::Tensor mix = test_signal(2, 370, 32);
  SeparatorOptions options;
  options.stems = {"vocals"};
  options.shifts = 2;
  options.seed = 42;
  StreamSeparator separator(four.bag, options);
  const at::Tensor streamed = run_stream(separator, mix, 200, 7);
  EXPECT_EQ(four.calls(), (std::vector<int>{0, 0, 0, four.models[3]->calls()}));
  EXPECT_GT(four.models[3]->calls(), 0);
  // The skipped models still consume their shift offsets, as upstream draws
  // them: the vocals equal those of the whole bag.
  ReferenceOptions upstream;
  upstream.shifts = 2;
  const at::Tensor all = reference_bag(four.reference, mix, upstream, 42);
  expect_same_numbers(all.narrow(0, 3, 1), streamed);
}

TEST(SeparatorBag, StemSubsetInAnyOrderRunsTheirModels) {
  FourModels four(kOneHot);
  const at::Tensor mix = test_signal(2, 280, 33);
  SeparatorOptions options;
  options.stems = {"other", "drums"};
  const at::Tensor out = separate(four.bag, mix, options);
  const std::vector<int> calls = four.calls();
  EXPECT_GT(calls[0], 0);
  EXPECT_EQ(calls[1], 0);
  EXPECT_GT(calls[2], 0);
  EXPECT_EQ(calls[3], 0);
  const at::Tensor all = reference_bag(four.reference, mix, ReferenceOptions{}, 0);
  expect_same_numbers(at::stack({all.select(0, 2), all.select(0, 0)}), out);
}

TEST(SeparatorBag, ModelsWithDifferentSegmentsEachUseTheirOwn) {
  auto short_model = std::make_shared<MirrorModel>(kRate, 0.3);
  auto long_model = std::make_shared<MirrorModel>(kRate, 0.5, 2.0);
  ModelBag bag{{short_model, {1, 1, 0, 1}}, {long_model, {1, 0, 1, 1}}};
  ReferenceBag reference{{short_model, long_model}, {{1, 1, 0, 1}, {1, 0, 1, 1}}};
  const at::Tensor mix = test_signal(2, 301, 34);
  SeparatorOptions options;
  options.shifts = 1;
  options.seed = 11;
  options.batch_size = 2;
  StreamSeparator separator(bag, options);
  const at::Tensor streamed = run_stream(separator, mix, 90, 8);
  ReferenceOptions upstream;
  upstream.shifts = 1;
  expect_same_numbers(reference_bag(reference, mix, upstream, 11), streamed);
  EXPECT_EQ(short_model->input_shapes().front()[2], 60);
  EXPECT_EQ(long_model->input_shapes().front()[2], 100);
}

}  // namespace
}  // namespace demucs::testing
