// The settings the shared fixtures leave at one value (linear attention, skip
// connections, mask-estimator depths and widths, several stems, no zero_dc,
// mono, other hops and windows, match_input_audio_length), each in a tiny
// model that the reference code built and ran (tests/data/roformer/variants/
// make_variants.py), loaded from its checkpoint and YAML as a user would.
#include "roformer/roformer_loader.h"

#include "support/npy_file.h"
#include "support/snr.h"
#include "support/test_data.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace demucs {
namespace {

using testing::read_npy;
using testing::test_data;

class RoformerVariant : public ::testing::TestWithParam<const char*> {};

TEST_P(RoformerVariant, ForwardMatchesTheReference) {
  const std::string base = test_data(std::string("roformer/variants/") + GetParam());
  const auto network = load_roformer(base + ".ckpt", base + ".yaml", at::kCPU, Precision::fp32);
  const at::Tensor input = read_npy(base + ".input.npy");
  const at::Tensor reference = read_npy(base + ".forward.npy");
  const at::Tensor ours = network->forward(input);
  // Ours is always (batch, stems, channels, samples); the reference drops the
  // stem axis of a one-stem Mel-Band RoFormer.
  ASSERT_EQ(ours.numel(), reference.numel()) << ours.sizes() << " against " << reference.sizes();
  EXPECT_EQ(ours.size(-1), reference.size(-1));
  const double snr = testing::snr_db(reference, ours.reshape(reference.sizes()));
  std::printf("%s: %.1f dB\n", GetParam(), snr);
  EXPECT_GE(snr, 80.0);
}

INSTANTIATE_TEST_SUITE_P(Settings, RoformerVariant,
                         ::testing::Values("bs-linear-skip-2stems", "mel-mono-match-length", "mel-2stems"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             c = c == '-' ? '_' : c;
                           }
                           return name;
                         });

}  // namespace
}  // namespace demucs
