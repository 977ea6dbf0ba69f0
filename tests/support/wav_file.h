// Minimal PCM WAV reading and writing for tests (16-bit integer or 32-bit float).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace demucs::testing {

struct WavAudio {
  int samplerate = 0;
  at::Tensor samples;  // float32 (channels, frames); int16 is scaled by 1/32768 as upstream
};

WavAudio read_wav(const std::string& path);
// Writes float32 (channels, frames) as 32-bit float WAV.
void write_wav(const std::string& path, const at::Tensor& samples, int samplerate);
// Writes the audio of the WAV file `source` `times` times over, one after
// the other, to `path` (a longer input); returns `path`.
std::string write_repeated_wav(const std::string& source, int times, const std::string& path);

}  // namespace demucs::testing
