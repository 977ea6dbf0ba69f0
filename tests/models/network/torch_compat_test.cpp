// The LibTorch compatibility layer (network/torch_compat.h) on the LibTorch of
// this build: its version, the attention of MultiheadAttention (fused with
// LibTorch >= 2.0, by blocks with 1.13) against a float64 reference, and the
// autocast scope that half precision runs under.
#include "network/cross_transformer.h"
#include "network/torch_compat.h"
#include "support/snr.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace demucs {
namespace {

using testing::snr_db;

TEST(TorchCompat, VersionComesFromTorchVersionHeader) {
  const std::string version = torch_compat::torch_version();
  EXPECT_EQ(version.rfind(std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR), 0), 0u)
      << version;
  EXPECT_TRUE(DEMUCS_TORCH_AT_LEAST(1, 13));
  EXPECT_TRUE(DEMUCS_TORCH_AT_LEAST(TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR));
  EXPECT_FALSE(DEMUCS_TORCH_AT_LEAST(TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR + 1));
  EXPECT_FALSE(DEMUCS_TORCH_AT_LEAST(TORCH_VERSION_MAJOR + 1, 0));
  EXPECT_EQ(torch_compat::kHasFusedAttention, TORCH_VERSION_MAJOR >= 2);
}

at::Tensor reference_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const at::Tensor qd = q.to(at::kDouble), kd = k.to(at::kDouble), vd = v.to(at::kDouble);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  return at::matmul(at::softmax(at::matmul(qd, kd.transpose(1, 2)) * scale, -1), vd);
}

// 600 queries: more than one block of the 1.13 path (256), and a last short one.
TEST(TorchCompat, AttentionMatchesFloat64Reference) {
  at::manual_seed(3);
  const at::Tensor q = at::randn({6, 600, 16});
  const at::Tensor k = at::randn({6, 450, 16});
  const at::Tensor v = at::randn({6, 450, 16});
  const at::Tensor out = attention(q, k, v);
  ASSERT_EQ(out.sizes(), q.sizes());
  EXPECT_EQ(out.scalar_type(), at::kFloat);
  EXPECT_GE(snr_db(reference_attention(q, k, v).to(at::kFloat), out), 100.0);
}

TEST(TorchCompat, FusedAttentionOnlyWithLibTorch2) {
  const at::Tensor q = at::randn({1, 4, 8});
  if (torch_compat::kHasFusedAttention) {
    EXPECT_GE(snr_db(reference_attention(q, q, q).to(at::kFloat), torch_compat::fused_attention(q, q, q)), 100.0);
  } else {
    EXPECT_THROW(torch_compat::fused_attention(q, q, q), std::logic_error);
  }
}

TEST(TorchCompat, AutocastScopeRunsMatrixProductsInBfloat16OnTheCpu) {
  const at::Tensor a = at::randn({8, 8});
  EXPECT_FALSE(torch_compat::autocast_enabled(c10::DeviceType::CPU));
  {
    torch_compat::AutocastScope scope(c10::DeviceType::CPU, at::kBFloat16);
    EXPECT_TRUE(torch_compat::autocast_enabled(c10::DeviceType::CPU));
    EXPECT_EQ(torch_compat::autocast_dtype(c10::DeviceType::CPU), at::kBFloat16);
    EXPECT_EQ(at::mm(a, a).scalar_type(), at::kBFloat16);
    EXPECT_EQ((a + a).scalar_type(), at::kFloat);  // not on autocast's lists: as given
  }
  EXPECT_FALSE(torch_compat::autocast_enabled(c10::DeviceType::CPU));
  EXPECT_EQ(at::mm(a, a).scalar_type(), at::kFloat);
}

TEST(TorchCompat, AutocastScopesNest) {
  // (LibTorch 1.13's CPU autocast takes bfloat16 only.)
  {
    torch_compat::AutocastScope outer(c10::DeviceType::CPU, at::kBFloat16);
    {
      torch_compat::AutocastScope inner(c10::DeviceType::CPU, at::kBFloat16);
      EXPECT_TRUE(torch_compat::autocast_enabled(c10::DeviceType::CPU));
    }
    EXPECT_TRUE(torch_compat::autocast_enabled(c10::DeviceType::CPU));  // the outer one still holds
    EXPECT_EQ(at::mm(at::ones({2, 2}), at::ones({2, 2})).scalar_type(), at::kBFloat16);
  }
  EXPECT_FALSE(torch_compat::autocast_enabled(c10::DeviceType::CPU));
}

// Half precision keeps the softmax in float32 (the 1.13 path does it itself;
// PyTorch's CUDA autocast does it for the fused kernel's inputs' scores).
TEST(TorchCompat, AttentionUnderBfloat16AutocastStaysCloseToFloat32) {
  at::manual_seed(4);
  const at::Tensor q = at::randn({2, 300, 16}), k = at::randn({2, 300, 16}), v = at::randn({2, 300, 16});
  const at::Tensor exact = attention(q, k, v);
  at::Tensor half;
  {
    torch_compat::AutocastScope scope(c10::DeviceType::CPU, at::kBFloat16);
    half = attention(q, k, v);
  }
  EXPECT_GE(snr_db(exact, half.to(at::kFloat)), 25.0);
}

}  // namespace
}  // namespace demucs
