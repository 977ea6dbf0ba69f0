// Bad input and bad settings give errors a caller can act on.
#include "fake_models.h"

#include "separator/separate.h"
#include "separator/stream_separator.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace demucs::testing {
namespace {

// Runs `action` and returns the message of the exception of type E it throws.
template <typename E, typename F>
std::string error_of(F&& action) {
  try {
    action();
  } catch (const E& error) {
    return error.what();
  }
  ADD_FAILURE() << "no exception";
  return "";
}

std::shared_ptr<MirrorModel> stereo_model() { return std::make_shared<MirrorModel>(200, 0.5); }

TEST(SeparatorErrors, WrongChannelCount) {
  StreamSeparator separator(stereo_model(), SeparatorOptions{});
  EXPECT_NE(error_of<std::invalid_argument>([&] { separator.push(at::zeros({1, 50})); })
                .find("channels=2"),
            std::string::npos);
  const float samples[3] = {0, 0, 0};
  EXPECT_NE(error_of<std::invalid_argument>([&] { separator.push_interleaved(samples, 1, 3); })
                .find("takes 2 audio channels, got 3"),
            std::string::npos);
  EXPECT_THROW(separator.push(at::zeros({2, 5, 1})), std::invalid_argument);
  EXPECT_THROW(separator.push(at::zeros({2, 5}, at::kInt)), std::invalid_argument);
  EXPECT_THROW(separate(stereo_model(), at::zeros({1, 300})), std::invalid_argument);
}

TEST(SeparatorErrors, OverlapOutsideZeroToOne) {
  for (const double overlap : {-0.1, 1.0, 1.5}) {
    SeparatorOptions options;
    options.overlap = overlap;
    EXPECT_NE(error_of<std::invalid_argument>([&] { StreamSeparator(stereo_model(), options); })
                  .find("overlap must be in [0, 1)"),
              std::string::npos);
  }
  // 0.999 of a 100-frame segment leaves a stride of 0 frames.
  SeparatorOptions options;
  options.overlap = 0.999;
  EXPECT_NE(error_of<std::invalid_argument>([&] { StreamSeparator(stereo_model(), options); })
                .find("leaves no stride"),
            std::string::npos);
}

TEST(SeparatorErrors, SegmentLongerThanTheModels) {
  SeparatorOptions options;
  options.segment = 0.6;
  EXPECT_NE(error_of<std::invalid_argument>([&] { StreamSeparator(stereo_model(), options); })
                .find("longer than the model's segment"),
            std::string::npos);
  options.segment = -1.0;
  EXPECT_THROW(StreamSeparator(stereo_model(), options), std::invalid_argument);
  options.segment = 0.5;  // equal is fine
  EXPECT_NO_THROW(StreamSeparator(stereo_model(), options));
}

TEST(SeparatorErrors, PushAfterFinish) {
  StreamSeparator separator(stereo_model(), SeparatorOptions{});
  separator.push(at::zeros({2, 10}));
  separator.finish();
  separator.finish();  // harmless
  EXPECT_NE(error_of<std::logic_error>([&] { separator.push(at::zeros({2, 10})); })
                .find("push() after finish()"),
            std::string::npos);
  EXPECT_EQ(separator.pull().size(-1), 10);
}

TEST(SeparatorErrors, BadOptionsAndStems) {
  SeparatorOptions options;
  options.stems = {"vocals", "kazoo"};
  EXPECT_NE(error_of<std::invalid_argument>([&] { StreamSeparator(stereo_model(), options); })
                .find("unknown stem 'kazoo'; the model separates drums, bass, other, vocals"),
            std::string::npos);
  options.stems = {"vocals", "vocals"};
  EXPECT_THROW(StreamSeparator(stereo_model(), options), std::invalid_argument);
  options = SeparatorOptions{};
  options.batch_size = 0;
  EXPECT_THROW(StreamSeparator(stereo_model(), options), std::invalid_argument);
  options = SeparatorOptions{};
  options.transition_power = 0.5;
  EXPECT_THROW(StreamSeparator(stereo_model(), options), std::invalid_argument);
  options = SeparatorOptions{};
  options.shifts = -1;
  EXPECT_THROW(StreamSeparator(stereo_model(), options), std::invalid_argument);
}

TEST(SeparatorErrors, InconsistentBags) {
  auto model = stereo_model();
  EXPECT_THROW(StreamSeparator(ModelBag{}, SeparatorOptions{}), std::invalid_argument);
  EXPECT_THROW(StreamSeparator(ModelBag{{model, {1, 1}}}, SeparatorOptions{}),
               std::invalid_argument);
  auto other_rate = std::make_shared<MirrorModel>(100, 0.5);
  EXPECT_THROW(StreamSeparator(ModelBag{{model, {}}, {other_rate, {}}}, SeparatorOptions{}),
               std::invalid_argument);
  auto other_sources = std::make_shared<MirrorModel>(200, 0.5, 1.0, 2,
                                                     std::vector<std::string>{"vocals", "accompaniment"});
  EXPECT_THROW(StreamSeparator(ModelBag{{model, {}}, {other_sources, {}}}, SeparatorOptions{}),
               std::invalid_argument);
  SeparatorOptions vocals;
  vocals.stems = {"vocals"};
  EXPECT_NE(error_of<std::invalid_argument>([&] {
              StreamSeparator(ModelBag{{model, {1, 1, 1, 0}}}, vocals);
            }).find("weight 0 in every model"),
            std::string::npos);
}

TEST(SeparatorErrors, ModelReturningTheWrongShape) {
  StreamSeparator separator(std::make_shared<BrokenModel>(200, 0.5), SeparatorOptions{});
  EXPECT_NE(error_of<std::runtime_error>([&] { separator.push(at::zeros({2, 100})); })
                .find("the model returned shape"),
            std::string::npos);
}

}  // namespace
}  // namespace demucs::testing
