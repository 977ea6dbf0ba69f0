// A state that does not fit the configuration, or a configuration this
// implementation cannot run: clear errors that name the tensor or setting.
#include "roformer/roformer.h"

#include "checkpoint/checkpoint_reader.h"
#include "support/test_data.h"
#include "tiny_roformer_configs.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>

namespace demucs {
namespace {

using testing::test_data;

std::map<std::string, at::Tensor> tiny_bs_state() {
  return read_tensor_dict(test_data("roformer/bs-tiny.ckpt"));
}

std::string error_of(const RoformerConfig& config, std::map<std::string, at::Tensor> state) {
  try {
    Roformer::from_state(config, std::move(state), "bs-tiny.ckpt", at::kCPU);
  } catch (const std::exception& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(RoformerState, AMissingTensorIsNamed) {
  auto state = tiny_bs_state();
  state.erase("layers.1.1.layers.0.0.to_gates.bias");
  const std::string message = error_of(testing::tiny_bs_roformer_config(), state);
  EXPECT_NE(message.find("bs-tiny.ckpt"), std::string::npos) << message;
  EXPECT_NE(message.find("'layers.1.1.layers.0.0.to_gates.bias' is missing"), std::string::npos) << message;
}

TEST(RoformerState, AnUnexpectedTensorIsNamed) {
  auto state = tiny_bs_state();
  state["layers.2.0.layers.0.0.norm.gamma"] = at::ones({32});
  EXPECT_THROW(Roformer::from_state(testing::tiny_bs_roformer_config(), state, "bs-tiny.ckpt", at::kCPU),
               StateMismatchError);
  EXPECT_NE(error_of(testing::tiny_bs_roformer_config(), state).find("layers.2.0.layers.0.0.norm.gamma"),
            std::string::npos);
}

TEST(RoformerState, AConfigThatDoesNotMatchTheCheckpointNamesTheFirstMisfit) {
  RoformerConfig config = testing::tiny_bs_roformer_config();
  config.dim = 64;  // the checkpoint has 32
  const std::string message = error_of(config, tiny_bs_state());
  EXPECT_NE(message.find("has shape"), std::string::npos) << message;
  config = testing::tiny_bs_roformer_config();
  config.depth = 1;  // the checkpoint has a second layer
  EXPECT_NE(error_of(config, tiny_bs_state()).find("layers.1."), std::string::npos);
  config = testing::tiny_bs_roformer_config();
  config.mask_estimator_depth = 3;
  EXPECT_NE(error_of(config, tiny_bs_state()).find("mask_estimators.0.to_freqs.0.0.2"), std::string::npos);
}

TEST(RoformerState, BandsThatDoNotCoverTheSpectrumAreRefused) {
  RoformerConfig config = testing::tiny_bs_roformer_config();
  config.freqs_per_bands.pop_back();
  const std::string message = error_of(config, tiny_bs_state());
  EXPECT_NE(message.find("freqs_per_bands covers 896 bins"), std::string::npos) << message;
  EXPECT_THROW(Roformer::from_state(config, tiny_bs_state(), "x", at::kCPU), UnsupportedModelError);
}

TEST(RoformerState, SourcesMustMatchTheStems) {
  RoformerConfig config = testing::tiny_bs_roformer_config();
  config.sources = {"vocals", "other"};
  EXPECT_NE(error_of(config, tiny_bs_state()).find("num_stems 1 but 2 named sources"), std::string::npos);
}

TEST(RoformerState, TooManyMelBandsForTheSpectrumAreRefused) {
  RoformerConfig config = testing::tiny_mel_roformer_config();
  config.num_bands = 2000;
  config.stft_n_fft = 256;
  config.stft_win_length = 256;
  try {
    Roformer::with_random_weights(config, at::kCPU);
    ADD_FAILURE() << "an empty mel band was accepted";
  } catch (const UnsupportedModelError& error) {
    EXPECT_NE(std::string(error.what()).find("has no frequency bin"), std::string::npos) << error.what();
  }
}

TEST(RoformerState, HalfPrecisionOnTheCpuIsRefusedAsForHTDemucs) {
  EXPECT_THROW(Roformer::with_random_weights(testing::tiny_bs_roformer_config(), at::kCPU, 0, Precision::fp16),
               DeviceUnavailableError);
}

}  // namespace
}  // namespace demucs
