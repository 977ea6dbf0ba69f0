// Where the network runs: "auto", "cpu", "cuda" or "cuda:N".
#pragma once

#include "demucs/demucs.h"  // DeviceUnavailableError

#include <c10/core/Device.h>

#include <stdexcept>
#include <string>

namespace demucs {

// "auto" picks CUDA when this LibTorch has it and a GPU is present, else the CPU.
// Throws DeviceUnavailableError for CUDA without CUDA support or GPU, and
// std::invalid_argument for a name that is not a device.
c10::Device parse_compute_device(const std::string& name);

}  // namespace demucs
