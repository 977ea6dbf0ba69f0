#include "roformer/mel_bands.h"

#include "demucs/demucs.h"  // UnsupportedModelError

#include <cmath>
#include <string>

namespace demucs {

namespace {

// librosa's Slaney mel scale: linear below 1 kHz, logarithmic above.
constexpr double kLinearStep = 200.0 / 3;  // Hz per mel below 1 kHz
constexpr double kLogStartHz = 1000.0;
constexpr double kLogStartMel = kLogStartHz / kLinearStep;

double log_step() { return std::log(6.4) / 27.0; }

double hz_to_mel(double hz) {
  return hz >= kLogStartHz ? kLogStartMel + std::log(hz / kLogStartHz) / log_step() : hz / kLinearStep;
}

double mel_to_hz(double mel) {
  return mel >= kLogStartMel ? kLogStartHz * std::exp(log_step() * (mel - kLogStartMel)) : kLinearStep * mel;
}

// The filter bank's weights, float32 as librosa returns them: (bands, bins).
std::vector<std::vector<float>> slaney_filters(int sample_rate, std::int64_t n_fft, std::int64_t bands) {
  const std::int64_t bins = n_fft / 2 + 1;
  // n_mels + 2 frequencies evenly spaced in mels from 0 to Nyquist.
  const double top = hz_to_mel(sample_rate / 2.0);
  std::vector<double> edges(static_cast<size_t>(bands + 2));
  for (size_t i = 0; i < edges.size(); ++i) {
    // np.linspace(0, top, n): i * step, the last one exactly `top`.
    const double step = top / static_cast<double>(bands + 1);
    const double mel = i + 1 == edges.size() ? top : static_cast<double>(i) * step;
    edges[i] = mel_to_hz(mel);
  }
  // np.fft.rfftfreq(n_fft, 1 / sr): bin * (1 / (n_fft * (1 / sr))).
  const double bin_hz = 1.0 / (static_cast<double>(n_fft) * (1.0 / sample_rate));
  std::vector<std::vector<float>> weights(static_cast<size_t>(bands), std::vector<float>(static_cast<size_t>(bins)));
  for (std::int64_t band = 0; band < bands; ++band) {
    const double lower_width = edges[band + 1] - edges[band];
    const double upper_width = edges[band + 2] - edges[band + 1];
    const double area = 2.0 / (edges[band + 2] - edges[band]);
    for (std::int64_t bin = 0; bin < bins; ++bin) {
      const double hz = static_cast<double>(bin) * bin_hz;
      const double rising = -(edges[band] - hz) / lower_width;
      const double falling = (edges[band + 2] - hz) / upper_width;
      const double weight = std::max(0.0, std::min(rising, falling));
      // Cast to float32 before the area factor, as librosa stores the
      // triangle in its float32 array and then scales it in place.
      weights[band][bin] = static_cast<float>(weight);
      weights[band][bin] = static_cast<float>(static_cast<double>(weights[band][bin]) * area);
    }
  }
  weights.front().front() = 1.0f;
  weights.back().back() = 1.0f;
  return weights;
}

}  // namespace

MelBands mel_bands(int sample_rate, std::int64_t n_fft, std::int64_t num_bands) {
  if (num_bands < 2 || n_fft < 2 || sample_rate <= 0) {
    throw UnsupportedModelError("Mel-Band RoFormer: num_bands " + std::to_string(num_bands) + ", stft_n_fft " +
                                std::to_string(n_fft) + " and sample_rate " + std::to_string(sample_rate) +
                                " do not make a mel filter bank");
  }
  const auto weights = slaney_filters(sample_rate, n_fft, num_bands);
  const std::int64_t bins = n_fft / 2 + 1;
  MelBands bands;
  bands.bands_per_bin.assign(static_cast<size_t>(bins), 0);
  for (const auto& filter : weights) {
    std::int64_t count = 0;
    for (std::int64_t bin = 0; bin < bins; ++bin) {
      if (filter[bin] > 0.0f) {
        bands.band_bins.push_back(bin);
        ++bands.bands_per_bin[bin];
        ++count;
      }
    }
    if (count == 0) {
      throw UnsupportedModelError("Mel-Band RoFormer: mel band " + std::to_string(bands.bins_per_band.size()) +
                                  " of " + std::to_string(num_bands) + " has no frequency bin (num_bands too large " +
                                  "for stft_n_fft " + std::to_string(n_fft) + ")");
    }
    bands.bins_per_band.push_back(count);
  }
  for (std::int64_t bin = 0; bin < bins; ++bin) {
    if (bands.bands_per_bin[bin] == 0) {
      throw UnsupportedModelError("Mel-Band RoFormer: frequency bin " + std::to_string(bin) + " is in none of the " +
                                  std::to_string(num_bands) + " mel bands (num_bands too large for stft_n_fft " +
                                  std::to_string(n_fft) + ")");
    }
  }
  return bands;
}

}  // namespace demucs
