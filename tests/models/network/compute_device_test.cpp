#include "network/compute_device.h"

#include <ATen/Context.h>
#include <gtest/gtest.h>

namespace demucs {
namespace {

TEST(ComputeDevice, CpuAndAuto) {
  EXPECT_EQ(parse_compute_device("cpu"), c10::Device(c10::kCPU));
  const c10::Device automatic = parse_compute_device("auto");
  EXPECT_EQ(automatic.is_cuda(), at::hasCUDA() && at::getNumGPUs() > 0);
}

TEST(ComputeDevice, CudaWithoutCudaIsAClearError) {
  if (at::hasCUDA()) {
    GTEST_SKIP() << "this LibTorch has CUDA";
  }
  try {
    parse_compute_device("cuda");
    FAIL() << "no error";
  } catch (const DeviceUnavailableError& e) {
    EXPECT_NE(std::string(e.what()).find("without CUDA support"), std::string::npos) << e.what();
  }
}

TEST(ComputeDevice, UnknownNameIsAnError) {
  EXPECT_THROW(parse_compute_device("gpu"), std::invalid_argument);
  EXPECT_THROW(parse_compute_device("tpu:0"), std::invalid_argument);
}

}  // namespace
}  // namespace demucs
