// stem-snr-check: compares a separated WAV file with upstream's output for
// the same input, as the golden tests do, for checks that run outside
// GoogleTest (the installed programs, the Debian packages).
//
//   stem-snr-check OUTPUT.wav REFERENCE.npy ROW [MIN_DB]
//
// REFERENCE.npy holds upstream's stems (stem, channel, frame); ROW picks one.
// Prints the SNR; exits 0 when it is at least MIN_DB (default 80), 1 when
// not, 2 when a file cannot be read.
#include "support/npy_file.h"
#include "support/snr.h"
#include "support/wav_file.h"

#include <ATen/ATen.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s OUTPUT.wav REFERENCE.npy ROW [MIN_DB]\n", argv[0]);
    return 2;
  }
  const std::string output_path = argv[1];
  const std::string reference_path = argv[2];
  const long row = std::strtol(argv[3], nullptr, 10);
  const double min_db = argc == 5 ? std::strtod(argv[4], nullptr) : 80.0;
  try {
    const at::Tensor reference = demucs::testing::read_npy(reference_path);
    if (row < 0 || row >= reference.size(0)) {
      std::fprintf(stderr, "%s has %ld rows, not row %ld\n", reference_path.c_str(),
                   static_cast<long>(reference.size(0)), row);
      return 2;
    }
    const at::Tensor expected = reference[row];
    const at::Tensor output = demucs::testing::read_wav(output_path).samples;
    if (!output.sizes().equals(expected.sizes())) {
      std::printf("%s: shape (%ld, %ld), upstream's (%ld, %ld): FAIL\n", output_path.c_str(),
                  static_cast<long>(output.size(0)), static_cast<long>(output.size(1)),
                  static_cast<long>(expected.size(0)), static_cast<long>(expected.size(1)));
      return 1;
    }
    const double snr = demucs::testing::snr_db(expected, output);
    const bool passed = snr >= min_db;
    std::printf("%s: SNR %.1f dB against upstream (row %ld of %s), at least %.1f: %s\n", output_path.c_str(), snr,
                row, reference_path.c_str(), min_db, passed ? "ok" : "FAIL");
    return passed ? 0 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 2;
  }
}
