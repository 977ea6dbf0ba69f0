// The RoFormer networks on CUDA: float32 against the reference's forward
// (>= 80 dB, TF32 off), fp16 and bf16 against float32 (printed and recorded
// as test properties for scripts/gpu-check.sh). Skipped, with a message,
// where CUDA is not available.
#include "roformer/roformer.h"

#include "../roformer/tiny_roformer_configs.h"
#include "checkpoint/checkpoint_reader.h"
#include "support/npy_file.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/wav_file.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace demucs {
namespace {

using testing::test_data;

struct TinyRoformer {
  const char* name;
  RoformerConfig (*config)();
};

const c10::Device kCuda(c10::kCUDA, 0);

std::shared_ptr<Roformer> load_tiny(const TinyRoformer& model, c10::Device device, Precision precision) {
  const std::string path = test_data(std::string("roformer/") + model.name + ".ckpt");
  return Roformer::from_state(model.config(), read_tensor_dict(path), path, device, precision);
}

at::Tensor two_seconds() {
  return testing::read_wav(test_data("mix.wav")).samples.slice(1, 0, 88200).unsqueeze(0);
}

class RoformerCuda : public ::testing::TestWithParam<TinyRoformer> {
 protected:
  void SetUp() override {
    if (!at::hasCUDA() || at::getNumGPUs() == 0) {
      GTEST_SKIP() << "CUDA is not available (" << (at::hasCUDA() ? "no GPU visible" : "a CPU-only LibTorch")
                   << "): the RoFormer CUDA tests need an NVIDIA GPU and a CUDA LibTorch";
    }
  }
};

TEST_P(RoformerCuda, Float32MatchesTheReference) {
  const TinyRoformer& model = GetParam();
  const at::Tensor reference =
      testing::read_npy(test_data(std::string("roformer/") + model.name + ".forward.npy")).reshape({1, 1, 2, 88200});
  const at::Tensor ours = load_tiny(model, kCuda, Precision::fp32)->forward(two_seconds().to(kCuda)).cpu();
  EXPECT_FALSE(at::globalContext().allowTF32CuBLAS());
  const double snr = testing::snr_db(reference, ours);
  std::printf("cuda %s fp32 vs reference: %.1f dB\n", model.name, snr);
  RecordProperty("roformer_fp32_vs_reference_db_" + std::string(model.name), std::to_string(snr));
  EXPECT_GE(snr, 80.0);
}

TEST_P(RoformerCuda, HalfPrecisionStaysCloseToFloat32) {
  const TinyRoformer& model = GetParam();
  const at::Tensor input = two_seconds().to(kCuda);
  const at::Tensor fp32 = load_tiny(model, kCuda, Precision::fp32)->forward(input).cpu();
  for (Precision precision : {Precision::fp16, Precision::bf16}) {
    const at::Tensor half = load_tiny(model, kCuda, precision)->forward(input).cpu();
    ASSERT_EQ(half.scalar_type(), at::kFloat);
    const double snr = testing::snr_db(fp32, half);
    std::printf("cuda %s %s vs fp32: %.1f dB\n", model.name, precision_name(precision), snr);
    RecordProperty("roformer_" + std::string(precision_name(precision)) + "_vs_fp32_db_" + model.name,
                   std::to_string(snr));
    EXPECT_GE(snr, 20.0) << "only a broken half-precision path falls this low";
  }
}

INSTANTIATE_TEST_SUITE_P(TinyModels, RoformerCuda,
                         ::testing::Values(TinyRoformer{"bs-tiny", testing::tiny_bs_roformer_config},
                                           TinyRoformer{"mel-tiny", testing::tiny_mel_roformer_config}),
                         [](const auto& info) { return std::string(info.param.name).substr(0, 3) == "bs-" ? "BS" : "Mel"; });

// bf16 also runs on the CPU (as for HTDemucs): close to float32 there too.
TEST(RoformerCpuBfloat16, StaysCloseToFloat32) {
  const TinyRoformer model{"bs-tiny", testing::tiny_bs_roformer_config};
  const at::Tensor input = two_seconds().slice(2, 0, 22050);
  const at::Tensor fp32 = load_tiny(model, at::kCPU, Precision::fp32)->forward(input);
  const at::Tensor bf16 = load_tiny(model, at::kCPU, Precision::bf16)->forward(input);
  ASSERT_EQ(bf16.scalar_type(), at::kFloat);
  const double snr = testing::snr_db(fp32, bf16);
  std::printf("cpu bs-tiny bf16 vs fp32: %.1f dB\n", snr);
  EXPECT_GE(snr, 20.0);
  EXPECT_LT(snr, 100.0) << "bf16 did not change the numbers: is autocast on?";
}

}  // namespace
}  // namespace demucs
