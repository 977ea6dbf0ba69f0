// The whole separation against upstream apply_model(model, mix, shifts=0,
// split=True, overlap) on the fixture mix: offline, and streamed in random
// piece sizes.
#include "checkpoint/checkpoint_reader.h"
#include "network/htdemucs.h"
#include "separator/separate.h"
#include "separator/stream_separator.h"
#include "support/npy_file.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/wav_file.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace demucs {
namespace {

using testing::read_npy;
using testing::read_wav;
using testing::snr_db;
using testing::test_data;

constexpr double kMinSnrDb = 80.0;

std::shared_ptr<HTDemucs> load(const std::string& name) {
  return HTDemucs::from_checkpoint(read_checkpoint(test_data(name)), at::kCPU);
}

at::Tensor fixture_mix() { return read_wav(test_data("mix.wav")).samples; }

void expect_matches(const at::Tensor& expected, const at::Tensor& out, const std::vector<std::string>& stems) {
  ASSERT_EQ(out.sizes(), expected.sizes());
  for (size_t i = 0; i < stems.size(); ++i) {
    const auto s = static_cast<int64_t>(i);
    const double snr = snr_db(expected[s], out[s]);
    std::cout << stems[i] << " snr " << snr << " dB\n";
    EXPECT_GE(snr, kMinSnrDb) << stems[i];
  }
}

struct GoldenCase {
  std::string model;
  std::string reference;
  double overlap;
  std::vector<std::string> stems;
};

class ApplyModelGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(ApplyModelGolden, OfflineMatchesUpstream) {
  const GoldenCase& c = GetParam();
  SeparatorOptions options;
  options.overlap = c.overlap;
  options.stems = c.stems;
  const at::Tensor out = separate(load(c.model), fixture_mix(), options);
  expect_matches(read_npy(test_data(c.reference)), out, c.stems);
}

TEST_P(ApplyModelGolden, StreamedInRandomPiecesMatchesUpstream) {
  const GoldenCase& c = GetParam();
  SeparatorOptions options;
  options.overlap = c.overlap;
  options.stems = c.stems;
  StreamSeparator separator(load(c.model), options);
  const at::Tensor mix = fixture_mix();
  std::mt19937 random(7);
  std::uniform_int_distribution<int64_t> piece_size(1, 3 * 44100);
  std::vector<at::Tensor> pieces;
  for (int64_t pos = 0; pos < mix.size(1);) {
    const int64_t n = std::min(piece_size(random), mix.size(1) - pos);
    // Interleaved, as an element receives it.
    const at::Tensor interleaved = mix.narrow(1, pos, n).t().contiguous();
    separator.push_interleaved(interleaved.data_ptr<float>(), n, 2);
    pieces.push_back(separator.pull());
    pos += n;
  }
  separator.finish();
  pieces.push_back(separator.pull());
  expect_matches(read_npy(test_data(c.reference)), at::cat(pieces, -1), c.stems);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, ApplyModelGolden,
    ::testing::Values(GoldenCase{"htdemucs-tiny-4s.th", "tiny-4s.apply.drums-vocals.npy", 0.25, {"drums", "vocals"}},
                      GoldenCase{"htdemucs-tiny-4s.th", "tiny-4s.apply-overlap50.vocals.npy", 0.5, {"vocals"}},
                      GoldenCase{"htdemucs-tiny-6s.th", "tiny-6s.apply.vocals-guitar.npy", 0.25, {"vocals", "guitar"}}),
    [](const ::testing::TestParamInfo<GoldenCase>& info) {
      std::string name = info.param.reference.substr(0, info.param.reference.find(".npy"));
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

// Same sources, samplerate and segment as a real model, but must never run.
class NeverRunModel : public SegmentModel {
 public:
  explicit NeverRunModel(std::shared_ptr<HTDemucs> like) : like_(std::move(like)) {}
  const std::vector<std::string>& sources() const override { return like_->sources(); }
  int samplerate() const override { return like_->samplerate(); }
  int audio_channels() const override { return like_->audio_channels(); }
  double segment_seconds() const override { return like_->segment_seconds(); }
  at::Device device() const override { return like_->device(); }
  at::Tensor forward(const at::Tensor&) override {
    ADD_FAILURE() << "a model with zero weight for every requested stem ran";
    return {};
  }

 private:
  std::shared_ptr<HTDemucs> like_;
};

// A one-hot bag (as htdemucs_ft): asking for vocals runs only the model that
// has weight for it, with upstream's numbers.
TEST(ApplyModelGoldenBag, OneHotBagForOneStemRunsOnlyThatModel) {
  auto model = load("htdemucs-tiny-4s.th");
  ModelBag bag;
  bag.push_back({std::make_shared<NeverRunModel>(model), {1, 1, 1, 0}});
  bag.push_back({model, {0, 0, 0, 1}});
  SeparatorOptions options;
  options.stems = {"vocals"};
  const at::Tensor out = separate(bag, fixture_mix(), options);
  const at::Tensor expected = read_npy(test_data("tiny-4s.apply.drums-vocals.npy")).slice(0, 1, 2);
  expect_matches(expected, out, {"vocals"});
}

}  // namespace
}  // namespace demucs
