#include "stream_runner.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace demucs::testing {

at::Tensor test_signal(int channels, std::int64_t length, std::uint32_t seed) {
  std::mt19937 random(seed);
  std::normal_distribution<float> noise(0.0F, 0.3F);
  at::Tensor signal = at::empty({channels, length}, at::kFloat);
  auto values = signal.accessor<float, 2>();
  for (int c = 0; c < channels; ++c) {
    for (std::int64_t t = 0; t < length; ++t) {
      values[c][t] = noise(random) + 0.5F * std::sin(0.01F * static_cast<float>(t) * (c + 1));
    }
  }
  return signal;
}

at::Tensor run_stream(AudioSeparator& separator, const at::Tensor& mix, std::int64_t max_piece,
                      std::uint32_t seed) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<std::int64_t> piece_size(1, max_piece);
  std::vector<at::Tensor> pulled;
  const std::int64_t length = mix.size(1);
  for (std::int64_t position = 0; position < length;) {
    const std::int64_t count = std::min(piece_size(random), length - position);
    separator.push(mix.narrow(1, position, count));
    position += count;
    pulled.push_back(separator.pull());
    EXPECT_LE(separator.buffered_frames(), separator.max_buffered_frames())
        << "after " << position << " frames";
  }
  separator.finish();
  EXPECT_LE(separator.buffered_frames(), separator.max_buffered_frames()) << "after finish()";
  pulled.push_back(separator.pull());
  EXPECT_EQ(separator.buffered_frames(), 0);
  return at::cat(pulled, -1);
}

void expect_same_numbers(const at::Tensor& expected, const at::Tensor& actual) {
  ASSERT_EQ(expected.sizes(), actual.sizes());
  if (expected.numel() == 0) {
    return;
  }
  const double difference = (expected - actual).abs().max().item<double>();
  EXPECT_EQ(difference, 0.0) << "max abs difference " << difference;
}

}  // namespace demucs::testing
