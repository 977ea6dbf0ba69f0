// The RoFormer networks against the reference (ZFTurbo's bs_roformer.py and
// mel_band_roformer.py, run by tools that made tests/data/roformer): layer by
// layer on 0.1 s, then the whole forward on 2 s, for the tiny BS and Mel models.
#include "roformer/mel_bands.h"
#include "roformer/roformer.h"

#include "checkpoint/checkpoint_reader.h"
#include "support/npy_file.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/wav_file.h"
#include "tiny_roformer_configs.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>

namespace demucs {
namespace {

using testing::read_npy;
using testing::snr_db;
using testing::test_data;

struct TinyModel {
  const char* name;
  RoformerConfig (*config)();
};

std::shared_ptr<Roformer> load_tiny(const TinyModel& model) {
  const std::string path = test_data(std::string("roformer/") + model.name + ".ckpt");
  return Roformer::from_state(model.config(), read_tensor_dict(path), path, at::kCPU);
}

at::Tensor mix_seconds(double seconds) {
  const at::Tensor mix = testing::read_wav(test_data("mix.wav")).samples;  // (channels, frames)
  return mix.slice(1, 0, static_cast<std::int64_t>(seconds * 44100)).unsqueeze(0);
}

class RoformerForward : public ::testing::TestWithParam<TinyModel> {};

TEST_P(RoformerForward, EveryActivationMatchesTheReference) {
  const TinyModel& model = GetParam();
  const auto network = load_tiny(model);
  const std::string folder = test_data(std::string("roformer/") + model.name + ".activations/");
  const at::Tensor input = read_npy(folder + "input.npy");
  ASSERT_TRUE(at::equal(input, mix_seconds(0.1))) << "the activations' input is the first 4410 samples of mix.wav";

  std::map<std::string, at::Tensor> seen;
  network->forward(input, [&](const std::string& name, const at::Tensor& value) { seen[name] = value.clone(); });
  for (const char* name : {"band_split_in", "band_split_out", "layer0_time_transformer_out",
                           "layer0_freq_transformer_out", "mask_estimator_in", "mask_estimator_out", "mask_complex",
                           "istft_in", "output"}) {
    SCOPED_TRACE(name);
    ASSERT_EQ(seen.count(name), 1u);
    const at::Tensor reference = read_npy(folder + name + ".npy");
    const at::Tensor ours = seen[name].reshape(reference.sizes());
    const double snr = snr_db(reference, ours);
    EXPECT_GE(snr, 80.0);
    std::printf("%s %s: %.1f dB\n", model.name, name, snr);
  }
}

TEST_P(RoformerForward, TwoSecondsMatchTheReference) {
  const TinyModel& model = GetParam();
  const auto network = load_tiny(model);
  const at::Tensor reference = read_npy(test_data(std::string("roformer/") + model.name + ".forward.npy"));
  const at::Tensor ours = network->forward(mix_seconds(2.0));
  ASSERT_EQ(ours.sizes(), (at::IntArrayRef{1, 1, 2, 88200}));  // (batch, sources, channels, samples)
  const double snr = snr_db(reference.reshape(ours.sizes()), ours);
  EXPECT_GE(snr, 80.0);
  std::printf("%s forward, 2 s: %.1f dB\n", model.name, snr);
}

INSTANTIATE_TEST_SUITE_P(TinyModels, RoformerForward,
                         ::testing::Values(TinyModel{"bs-tiny", testing::tiny_bs_roformer_config},
                                           TinyModel{"mel-tiny", testing::tiny_mel_roformer_config}),
                         [](const auto& info) { return std::string(info.param.name).substr(0, 3) == "bs-" ? "BS" : "Mel"; });

TEST(MelBands, AreTheReferencesFilterBankBands) {
  const MelBands bands = mel_bands(44100, 2048, 60);
  const at::Tensor indices = read_npy(test_data("roformer/mel-tiny.freq_indices.npy"));
  const at::Tensor per_bin = read_npy(test_data("roformer/mel-tiny.num_bands_per_freq.npy"));
  ASSERT_EQ(indices.numel(), static_cast<std::int64_t>(bands.band_bins.size()) * 2);
  for (size_t i = 0; i < bands.band_bins.size(); ++i) {
    ASSERT_EQ(indices[2 * i].item<std::int64_t>(), 2 * bands.band_bins[i]) << "band bin " << i;
    ASSERT_EQ(indices[2 * i + 1].item<std::int64_t>(), 2 * bands.band_bins[i] + 1) << "band bin " << i;
  }
  ASSERT_EQ(per_bin.numel(), static_cast<std::int64_t>(bands.bands_per_bin.size()));
  for (size_t bin = 0; bin < bands.bands_per_bin.size(); ++bin) {
    EXPECT_EQ(per_bin[bin].item<std::int64_t>(), bands.bands_per_bin[bin]) << "bin " << bin;
  }
  EXPECT_EQ(bands.bins_per_band.front(), 7);
  EXPECT_EQ(bands.bins_per_band.back(), 130);
}

}  // namespace
}  // namespace demucs
