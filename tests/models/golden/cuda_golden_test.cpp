// The golden tests on CUDA: float32 against upstream's apply_model (>= 80 dB,
// TF32 off), fp16 and bf16 against float32 (measured, printed and recorded as
// test properties: scripts/gpu-check.sh reports them), batches of segments,
// and the GPU memory given back when the last user drops a model. Every test
// is skipped, with a message, where CUDA is not available.
#include "demucs/demucs.h"
#include "checkpoint/checkpoint_reader.h"
#include "network/device_memory.h"
#include "network/htdemucs.h"
#include "network/shared_models.h"
#include "separator/separate.h"
#include "support/npy_file.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/wav_file.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace demucs {
namespace {

using testing::read_npy;
using testing::read_wav;
using testing::snr_db;
using testing::test_data;

constexpr double kMinSnrDb = 80.0;
// A floor that only a broken half-precision path falls under; the figures
// themselves are printed (the issue calls >= 40 dB a useful one).
constexpr double kMinHalfSnrDb = 20.0;

#define SKIP_WITHOUT_CUDA()                                                                                  \
  if (!at::hasCUDA() || at::getNumGPUs() == 0) {                                                             \
    GTEST_SKIP() << "CUDA is not available (" << (at::hasCUDA() ? "no GPU visible" : "a CPU-only LibTorch") \
                 << "): the CUDA golden tests need an NVIDIA GPU and a CUDA LibTorch";                       \
  }

const c10::Device kCuda(c10::kCUDA, 0);

at::Tensor fixture_mix() { return read_wav(test_data("mix.wav")).samples; }

std::shared_ptr<HTDemucs> load_on_cuda(const std::string& file, Precision precision = Precision::fp32) {
  return HTDemucs::from_checkpoint(read_checkpoint(test_data(file)), kCuda, precision);
}

struct GoldenCase {
  std::string model;
  std::string reference;
  double overlap;
  std::vector<std::string> stems;
};

class CudaGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(CudaGolden, Float32MatchesUpstream) {
  SKIP_WITHOUT_CUDA();
  const GoldenCase& c = GetParam();
  SeparatorOptions options;
  options.overlap = c.overlap;
  options.stems = c.stems;
  const at::Tensor out = separate(load_on_cuda(c.model), fixture_mix(), options);
  const at::Tensor expected = read_npy(test_data(c.reference));
  ASSERT_EQ(out.sizes(), expected.sizes());
  for (size_t i = 0; i < c.stems.size(); ++i) {
    const double snr = snr_db(expected[static_cast<int64_t>(i)], out[static_cast<int64_t>(i)]);
    std::printf("cuda fp32 %s %s: %.1f dB against upstream\n", c.model.c_str(), c.stems[i].c_str(), snr);
    RecordProperty("fp32_vs_upstream_db_" + c.stems[i], std::to_string(snr));
    EXPECT_GE(snr, kMinSnrDb) << c.stems[i];
  }
}

TEST_P(CudaGolden, BatchesOfFourSegmentsMatchUpstream) {
  SKIP_WITHOUT_CUDA();
  const GoldenCase& c = GetParam();
  SeparatorOptions options;
  options.overlap = c.overlap;
  options.stems = c.stems;
  options.batch_size = 4;
  const at::Tensor out = separate(load_on_cuda(c.model), fixture_mix(), options);
  const at::Tensor expected = read_npy(test_data(c.reference));
  ASSERT_EQ(out.sizes(), expected.sizes());
  for (size_t i = 0; i < c.stems.size(); ++i) {
    EXPECT_GE(snr_db(expected[static_cast<int64_t>(i)], out[static_cast<int64_t>(i)]), kMinSnrDb) << c.stems[i];
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, CudaGolden,
    ::testing::Values(GoldenCase{"htdemucs-tiny-4s.th", "tiny-4s.apply.drums-vocals.npy", 0.25, {"drums", "vocals"}},
                      GoldenCase{"htdemucs-tiny-4s.th", "tiny-4s.apply-overlap50.vocals.npy", 0.5, {"vocals"}},
                      GoldenCase{"htdemucs-tiny-6s.th", "tiny-6s.apply.vocals-guitar.npy", 0.25, {"vocals", "guitar"}}),
    [](const ::testing::TestParamInfo<GoldenCase>& info) {
      std::string name = info.param.reference.substr(0, info.param.reference.find(".npy"));
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(CudaSettings, Tf32IsOffOnceAModelIsOnCuda) {
  SKIP_WITHOUT_CUDA();
  load_on_cuda("htdemucs-tiny-4s.th");
  EXPECT_FALSE(at::globalContext().allowTF32CuDNN());
  EXPECT_FALSE(at::globalContext().allowTF32CuBLAS());
}

class CudaHalfPrecision : public ::testing::TestWithParam<Precision> {};

TEST_P(CudaHalfPrecision, SeparatesCloseToFloat32) {
  SKIP_WITHOUT_CUDA();
  const Precision precision = GetParam();
  const at::Tensor mix = fixture_mix();
  SeparatorOptions options;
  options.stems = {"drums", "vocals"};
  const at::Tensor exact = separate(load_on_cuda("htdemucs-tiny-4s.th"), mix, options);
  const at::Tensor out = separate(load_on_cuda("htdemucs-tiny-4s.th", precision), mix, options);
  ASSERT_EQ(out.scalar_type(), at::kFloat);
  ASSERT_EQ(out.sizes(), exact.sizes());
  const at::Tensor upstream = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"));
  for (int64_t s = 0; s < 2; ++s) {
    const double against_fp32 = snr_db(exact[s], out[s]);
    const double against_upstream = snr_db(upstream[s], out[s]);
    std::printf("cuda %s %s: %.1f dB against fp32, %.1f dB against upstream\n", precision_name(precision),
                options.stems[s].c_str(), against_fp32, against_upstream);
    RecordProperty(std::string(precision_name(precision)) + "_vs_fp32_db_" + options.stems[s],
                   std::to_string(against_fp32));
    RecordProperty(std::string(precision_name(precision)) + "_vs_upstream_db_" + options.stems[s],
                   std::to_string(against_upstream));
    EXPECT_GE(against_fp32, kMinHalfSnrDb) << options.stems[s];
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaHalfPrecision, ::testing::Values(Precision::fp16, Precision::bf16),
                         [](const ::testing::TestParamInfo<Precision>& info) {
                           return std::string(precision_name(info.param));
                         });

TEST(CudaMemory, GivenBackWhenTheLastUserDropsTheModel) {
  SKIP_WITHOUT_CUDA();
  if (!device_memory_figures_available()) {
    GTEST_SKIP() << "built without the CUDA runtime headers (meson -Dcudart_include=DIR): no memory figures";
  }
  release_cached_device_memory(kCuda);
  const DeviceMemoryFigures before = *device_memory_figures(kCuda);
  {
    auto model = load_shared_htdemucs(test_data("htdemucs-tiny-4s.th"), kCuda);
    SeparatorOptions options;
    options.stems = {"vocals"};
    separate(model, fixture_mix(), options);
    const DeviceMemoryFigures loaded = *device_memory_figures(kCuda);
    EXPECT_GT(loaded.allocated_bytes, before.allocated_bytes);
    EXPECT_GT(loaded.reserved_bytes, before.reserved_bytes);
  }
  const DeviceMemoryFigures after = *device_memory_figures(kCuda);
  EXPECT_EQ(after.allocated_bytes, before.allocated_bytes);
  EXPECT_LE(after.reserved_bytes, before.reserved_bytes);
}

}  // namespace
}  // namespace demucs
