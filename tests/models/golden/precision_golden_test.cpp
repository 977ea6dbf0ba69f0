// Precision on the CPU: fp16 is refused with a message that says what to use;
// bf16 runs (autocast on the CPU) and its distance to float32 and to upstream
// is measured and printed (recorded as test properties too).
#include "demucs/demucs.h"
#include "checkpoint/checkpoint_reader.h"
#include "network/htdemucs.h"
#include "separator/separate.h"
#include "support/npy_file.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/wav_file.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace demucs {
namespace {

using testing::read_npy;
using testing::read_wav;
using testing::snr_db;
using testing::test_data;

// bf16 keeps 8 bits of mantissa: about 45 dB at best for one product; through
// the whole network of the tiny fixture model it gave 40.1 dB (drums) and
// 35.1 dB (vocals) here, with LibTorch 1.13.
constexpr double kMinBfloat16SnrDb = 30.0;

TEST(PrecisionOnCpu, Float16IsRefusedWithWhatToUse) {
  try {
    HTDemucs::from_checkpoint(read_checkpoint(test_data("htdemucs-tiny-4s.th")), at::kCPU, Precision::fp16);
    FAIL() << "no error";
  } catch (const DeviceUnavailableError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("fp16 needs a CUDA device"), std::string::npos) << message;
    EXPECT_NE(message.find("use precision fp32, or bf16"), std::string::npos) << message;
  }
  LoadOptions options;
  options.device = "cpu";
  options.precision = Precision::fp16;
  EXPECT_THROW(load_model(test_data("htdemucs-tiny-4s.th"), "vocals", options), DeviceUnavailableError);
}

TEST(PrecisionOnCpu, NamesParse) {
  EXPECT_EQ(parse_precision("fp32"), Precision::fp32);
  EXPECT_EQ(parse_precision("float16"), Precision::fp16);
  EXPECT_EQ(parse_precision("bf16"), Precision::bf16);
  EXPECT_STREQ(precision_name(Precision::bf16), "bf16");
  try {
    parse_precision("fp8");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("use fp32, fp16 or bf16"), std::string::npos) << e.what();
  }
}

TEST(PrecisionOnCpu, Bfloat16SeparatesCloseToFloat32) {
  const Checkpoint checkpoint = read_checkpoint(test_data("htdemucs-tiny-4s.th"));
  const auto exact = HTDemucs::from_checkpoint(checkpoint, at::kCPU);
  const auto half = HTDemucs::from_checkpoint(checkpoint, at::kCPU, Precision::bf16);
  EXPECT_EQ(half->precision(), Precision::bf16);
  const at::Tensor mix = read_wav(test_data("mix.wav")).samples;
  SeparatorOptions options;
  options.stems = {"drums", "vocals"};
  const at::Tensor expected = separate(exact, mix, options);
  const at::Tensor out = separate(half, mix, options);
  ASSERT_EQ(out.scalar_type(), at::kFloat);
  ASSERT_EQ(out.sizes(), expected.sizes());
  const at::Tensor upstream = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"));
  for (int64_t s = 0; s < 2; ++s) {
    const double against_fp32 = snr_db(expected[s], out[s]);
    const double against_upstream = snr_db(upstream[s], out[s]);
    std::printf("bf16 on the CPU, %s: %.1f dB against fp32, %.1f dB against upstream\n",
                options.stems[s].c_str(), against_fp32, against_upstream);
    RecordProperty("bf16_vs_fp32_db_" + options.stems[s], std::to_string(against_fp32));
    EXPECT_GE(against_fp32, kMinBfloat16SnrDb) << options.stems[s];
  }
  // float32 itself is still upstream's numbers.
  EXPECT_GE(snr_db(upstream[1], expected[1]), 80.0);
}

}  // namespace
}  // namespace demucs
