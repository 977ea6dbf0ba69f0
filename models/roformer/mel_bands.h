// The bands of a Mel-Band RoFormer: librosa.filters.mel(sr, n_fft, n_mels)
// (Slaney mel scale, Slaney area normalisation, float32 weights), with the
// first bin of the first band and the last bin of the last band forced on as
// the reference does; a band is every bin where its filter is > 0. Bands
// overlap: a bin covered by several bands gets the mean of their masks.
#pragma once

#include <cstdint>
#include <vector>

namespace demucs {

struct MelBands {
  // For each band in order, its bins (ascending), all bands concatenated.
  std::vector<std::int64_t> band_bins;
  // Bins of each band.
  std::vector<std::int64_t> bins_per_band;
  // For each of the n_fft / 2 + 1 bins, how many bands cover it (>= 1).
  std::vector<std::int64_t> bands_per_bin;
};

// Throws UnsupportedModelError when some bin is in no band (the reference
// asserts) or some band has no bin (the reference would build an empty layer).
MelBands mel_bands(int sample_rate, std::int64_t n_fft, std::int64_t num_bands);

}  // namespace demucs
