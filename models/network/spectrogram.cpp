#include "network/spectrogram.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

namespace demucs {

namespace {

// Reflect padding that also works when the input is shorter than the padding
// (upstream hdemucs.py pad1d): zeros are added on the right first.
at::Tensor reflect_pad(at::Tensor x, int64_t left, int64_t right) {
  const int64_t length = x.size(-1);
  const int64_t max_pad = std::max(left, right);
  if (length <= max_pad) {
    const int64_t extra = max_pad - length + 1;
    const int64_t extra_right = std::min(right, extra);
    const int64_t extra_left = extra - extra_right;
    left -= extra_left;
    right -= extra_right;
    x = at::constant_pad_nd(x, {extra_left, extra_right});
  }
  // reflection_pad1d wants (N, C, L).
  const auto sizes = x.sizes().vec();
  at::Tensor flat = x.reshape({-1, 1, sizes.back()});
  at::Tensor padded = at::reflection_pad1d(flat, {left, right});
  std::vector<int64_t> out_sizes(sizes.begin(), sizes.end() - 1);
  out_sizes.push_back(padded.size(-1));
  return padded.view(out_sizes);
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

Spectrogram::Spectrogram(int64_t nfft, at::Device device)
    : nfft_(nfft), window_(at::hann_window(nfft, at::TensorOptions().dtype(at::kFloat).device(device))) {}

at::Tensor Spectrogram::forward(const at::Tensor& x) const {
  const int64_t hop = hop_length();
  const int64_t length = x.size(-1);
  const int64_t frames = ceil_div(length, hop);
  const int64_t pad = hop / 2 * 3;
  const at::Tensor padded = reflect_pad(x, pad, pad + frames * hop - length);

  const auto sizes = x.sizes().vec();
  const at::Tensor flat = padded.reshape({-1, padded.size(-1)});
  at::Tensor z = at::stft(flat, nfft_, hop, nfft_, window_, /*center=*/true, "reflect", /*normalized=*/true,
                          /*onesided=*/true, /*return_complex=*/true);
  // Drop the Nyquist bin and the two extra frames on each side.
  z = z.slice(1, 0, z.size(1) - 1).slice(2, 2, 2 + frames);
  std::vector<int64_t> out_sizes(sizes.begin(), sizes.end() - 1);
  out_sizes.push_back(z.size(1));
  out_sizes.push_back(frames);
  return z.reshape(out_sizes);
}

at::Tensor Spectrogram::inverse(const at::Tensor& z, int64_t length) const {
  const int64_t hop = hop_length();
  // Restore the Nyquist bin (zeros) and two empty frames on each side.
  at::Tensor full = at::constant_pad_nd(z, {0, 0, 0, 1});
  full = at::constant_pad_nd(full, {2, 2});
  const int64_t pad = hop / 2 * 3;
  const int64_t padded_length = hop * ceil_div(length, hop) + 2 * pad;

  const auto sizes = full.sizes().vec();
  const at::Tensor flat = full.reshape({-1, sizes[sizes.size() - 2], sizes.back()});
  at::Tensor x = at::istft(flat, nfft_, hop, nfft_, window_, /*center=*/true, /*normalized=*/true,
                           /*onesided=*/{}, padded_length, /*return_complex=*/false);
  x = x.slice(1, pad, pad + length);
  std::vector<int64_t> out_sizes(sizes.begin(), sizes.end() - 2);
  out_sizes.push_back(length);
  return x.reshape(out_sizes);
}

}  // namespace demucs
