// What a streaming user relies on: bounded memory whatever the stream length,
// and the announced latency.
#include "fake_models.h"
#include "stream_runner.h"

#include "separator/stream_separator.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

namespace demucs::testing {
namespace {

// A deterministic signal known at every position, so a long stream can be
// checked without keeping it.
at::Tensor ramp_signal(std::int64_t start, std::int64_t count) {
  const at::Tensor t = at::arange(start, start + count, at::kDouble);
  return at::stack({at::sin(t * 0.001), at::cos(t * 0.0007)}).to(at::kFloat);
}

TEST(SeparatorBounds, TenMinutesAt44100StayWithinTheBound) {
  constexpr std::int64_t kRate = 44100;
  constexpr std::int64_t kLength = 600 * kRate;
  auto model = std::make_shared<ScaleModel>(static_cast<int>(kRate), 1.0);
  SeparatorOptions options;
  options.stems = {"vocals"};
  options.threads = 1;  // trivial operations: threads would only wait on each other
  StreamSeparator separator(model, options);
  const std::int64_t bound = separator.max_buffered_frames();
  EXPECT_EQ(bound, 2 * kRate + (kRate - 1) / 2);
  EXPECT_LT(bound, 3 * kRate);

  std::mt19937 random(2024);
  std::uniform_int_distribution<std::int64_t> piece_size(1, 3 * kRate);
  std::int64_t pushed = 0;
  std::int64_t pulled = 0;
  std::int64_t largest = 0;
  double worst_error = 0.0;
  const auto check = [&](const at::Tensor& out) {
    ASSERT_EQ(out.size(0), 1);
    ASSERT_EQ(out.size(1), 2);
    if (out.size(2) > 0) {
      // ScaleModel: vocals = 4 * mix, whatever the overlap-add does around it.
      const at::Tensor expected = ramp_signal(pulled, out.size(2)) * 4.0;
      worst_error = std::max(worst_error, (out.select(0, 0) - expected).abs().max().item<double>());
    }
    pulled += out.size(2);
  };
  while (pushed < kLength) {
    const std::int64_t count = std::min(piece_size(random), kLength - pushed);
    separator.push(ramp_signal(pushed, count));
    pushed += count;
    check(separator.pull());
    largest = std::max(largest, separator.buffered_frames());
    ASSERT_LE(separator.buffered_frames(), bound) << "after " << pushed << " frames";
  }
  separator.finish();
  ASSERT_LE(separator.buffered_frames(), bound);
  check(separator.pull());
  EXPECT_EQ(pulled, kLength);
  EXPECT_EQ(separator.buffered_frames(), 0);
  EXPECT_LT(worst_error, 1e-5);
  EXPECT_GT(largest, kRate);  // the bound is not loose by much
}

TEST(SeparatorBounds, ShiftsAndBatchesStayWithinTheBound) {
  constexpr int kRate = 8000;
  auto model = std::make_shared<ScaleModel>(kRate, 0.5);
  SeparatorOptions options;
  options.shifts = 3;
  options.batch_size = 4;
  options.overlap = 0.5;
  options.threads = 1;
  StreamSeparator separator(model, options);
  const std::int64_t length = 120 * kRate;
  const at::Tensor out = run_stream(separator, ramp_signal(0, length), 3 * kRate, 77);
  ASSERT_EQ(out.size(-1), length);
  EXPECT_LT((out.select(0, 1) - ramp_signal(0, length) * 2.0).abs().max().item<double>(), 1e-5);
}

// Pushes one frame at a time; returns, for every frame, how many frames were
// pushed after it before it could be pulled.
std::vector<std::int64_t> waits(StreamSeparator& separator, std::int64_t length) {
  std::vector<std::int64_t> wait;
  for (std::int64_t t = 0; t < length; ++t) {
    separator.push(ramp_signal(t, 1));
    const std::int64_t ready = separator.pull().size(-1);
    for (std::int64_t i = 0; i < ready; ++i) {
      wait.push_back(t - static_cast<std::int64_t>(wait.size()));
    }
  }
  return wait;
}

TEST(SeparatorBounds, LatencyIsTheLongestWaitOfAFrame) {
  auto model = std::make_shared<MirrorModel>(200, 0.5);  // 100-frame segments
  for (const int batch : {1, 2}) {
    SeparatorOptions options;
    options.batch_size = batch;
    StreamSeparator separator(model, options);
    const std::vector<std::int64_t> wait = waits(separator, 1000);
    ASSERT_GT(wait.size(), 800U);
    const std::int64_t longest = *std::max_element(wait.begin(), wait.end());
    EXPECT_EQ(separator.latency_frames(), 99 + (batch - 1) * 75);
    EXPECT_EQ(longest, separator.latency_frames()) << "batch " << batch;
  }
  SeparatorOptions options;
  options.shifts = 2;
  options.seed = 1;
  StreamSeparator shifted(model, options);
  const std::vector<std::int64_t> wait = waits(shifted, 1000);
  ASSERT_GT(wait.size(), 800U);
  EXPECT_LE(*std::max_element(wait.begin(), wait.end()), shifted.latency_frames());
}

}  // namespace
}  // namespace demucs::testing
