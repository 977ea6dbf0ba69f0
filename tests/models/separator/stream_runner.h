// Test plumbing: deterministic test signals and a stream driven with pieces of
// random size, checking the memory bound after every pull.
#pragma once

#include "separator/audio_separator.h"

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace demucs::testing {

// (channels, length) float32 noise with a slow sine, from `seed`.
at::Tensor test_signal(int channels, std::int64_t length, std::uint32_t seed);

// Pushes `mix` in pieces of 1..max_piece frames (sizes drawn from `seed`),
// pulls after each push, finishes, and returns every pulled frame
// concatenated. Fails the test if buffered_frames() exceeds its bound after a pull.
at::Tensor run_stream(AudioSeparator& separator, const at::Tensor& mix, std::int64_t max_piece,
                      std::uint32_t seed);

// Exact equality with a readable failure (max abs difference and shapes).
void expect_same_numbers(const at::Tensor& expected, const at::Tensor& actual);

}  // namespace demucs::testing
