// read_tensor_dict on the captured activations of the tiny-4s forward (a
// plain dict of 41 float32 tensors, 36 MB), compared with torch.load values.
#include "checkpoint/checkpoint_reader.h"
#include "support/test_data.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace demucs {
namespace {

TEST(TensorDict, Tiny4sActivations) {
  const std::string path = testing::shared_fixture("tiny-4s.activations.pt");
  if (path.empty()) {
    GTEST_SKIP() << "tiny-4s.activations.pt not found: the shared fixtures folder (DEMUCS_SHARED_FIXTURES, "
                    "../shared/fixtures) is absent";
  }
  const std::map<std::string, at::Tensor> activations = read_tensor_dict(path);
  EXPECT_EQ(activations.size(), 41u);
  for (const auto& [name, tensor] : activations) {
    EXPECT_EQ(tensor.scalar_type(), at::kFloat) << name;
    EXPECT_TRUE(tensor.is_contiguous()) << name;
  }

  const at::Tensor& downsampled = activations.at("channel_downsampler");
  EXPECT_EQ(downsampled.sizes(), (at::IntArrayRef{1, 64, 696}));
  EXPECT_EQ(downsampled.flatten()[0].item<float>(), 0.33459046483039856f);
  EXPECT_EQ(downsampled.flatten()[2].item<float>(), 0.49475231766700745f);
  EXPECT_EQ(downsampled.flatten()[-1].item<float>(), -0.4702964127063751f);
  EXPECT_NEAR(downsampled.to(at::kDouble).sum().item<double>(), -574.7943546123279, 1e-9);
  EXPECT_EQ(downsampled.abs().max().item<float>(), 1.9904662370681763f);

  const at::Tensor& spectrum = activations.at("spec.z");
  EXPECT_EQ(spectrum.sizes(), (at::IntArrayRef{1, 2, 2048, 87, 2}));
  EXPECT_EQ(spectrum.strides(), (at::IntArrayRef{712704, 356352, 174, 2, 1}));
  EXPECT_EQ(spectrum.flatten()[0].item<float>(), 0.4687727093696594f);
  EXPECT_EQ(spectrum.flatten()[1].item<float>(), 0.0f);
  EXPECT_NEAR(spectrum.to(at::kDouble).sum().item<double>(), 3.8676746669243585, 1e-9);

  EXPECT_EQ(activations.at("norm.std").sizes(), (at::IntArrayRef{1, 1, 1, 1}));
  EXPECT_EQ(activations.at("norm.std").item<float>(), 0.05069778859615326f);
  EXPECT_NEAR(activations.at("freq_emb").to(at::kDouble).sum().item<double>(), -918.2261312007904, 1e-9);
}

}  // namespace
}  // namespace demucs
