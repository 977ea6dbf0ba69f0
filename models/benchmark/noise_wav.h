// The benchmarks' input audio: stereo Gaussian noise in a 32-bit float WAV
// file (what audioconvert hands demucsvocals, so that the pipeline and the
// separator alone see the same samples; what roformer-benchmark hands the
// reference Python and its own separator), written and read back in pieces.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace demucs::benchmark {

inline constexpr int kNoiseChannels = 2;

// Writes `frames` stereo frames of noise (standard deviation 0.1, the same
// for the same seed) at `rate` Hz to `path`. Throws std::runtime_error.
void write_noise_wav(const std::string& path, std::int64_t frames, int rate, std::uint64_t seed);

// Reads a file write_noise_wav wrote, in pieces of interleaved float frames.
class NoiseWavReader {
 public:
  // Throws std::runtime_error when `path` is not such a file.
  explicit NoiseWavReader(const std::string& path);

  int rate() const { return rate_; }
  std::int64_t frames() const { return frames_; }
  // Up to `frames` more frames, interleaved; empty at the end.
  const std::vector<float>& read(std::int64_t frames);

 private:
  std::ifstream in_;
  int rate_ = 0;
  std::int64_t frames_ = 0;
  std::int64_t frames_read_ = 0;
  std::vector<float> piece_;
};

// The number of frames in the WAV file `path` (any format: the data chunk's
// size over the fmt chunk's block size), to check an output's length. Throws
// std::runtime_error when it is not a WAV file.
std::int64_t wav_file_frames(const std::string& path);

}  // namespace demucs::benchmark
