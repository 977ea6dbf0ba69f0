// The STFT and inverse STFT of HTDemucs (upstream htdemucs.py _spec/_ispec and
// spec.py): hop = nfft / 4, normalised Hann window, the extra reflect padding
// that makes the frame count exactly ceil(length / hop), the Nyquist bin dropped.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace demucs {

class Spectrogram {
 public:
  Spectrogram(int64_t nfft, at::Device device);

  // x: float (..., length) -> complex (..., nfft / 2, ceil(length / hop)).
  at::Tensor forward(const at::Tensor& x) const;

  // z: complex (..., nfft / 2, frames) -> float (..., length).
  at::Tensor inverse(const at::Tensor& z, int64_t length) const;

  int64_t hop_length() const { return nfft_ / 4; }

 private:
  int64_t nfft_;
  at::Tensor window_;
};

}  // namespace demucs
