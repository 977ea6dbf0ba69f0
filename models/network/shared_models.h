// Loads HTDemucs checkpoints, keeping one loaded copy per file and device in
// the process: several elements or jobs that ask for the same model share it.
#pragma once

#include "network/htdemucs.h"

#include <c10/core/Device.h>

#include <memory>
#include <string>

namespace demucs {

// Reads and builds `path` on `device` in `precision`, or returns the copy
// already loaded (while anyone still holds it). On CUDA, the last holder to
// drop it also releases the memory LibTorch cached for it. Throws
// CheckpointError, UnsupportedModelError, StateMismatchError or
// DeviceUnavailableError (a precision the device cannot run).
std::shared_ptr<HTDemucs> load_shared_htdemucs(const std::string& path, c10::Device device,
                                               Precision precision = Precision::fp32);

}  // namespace demucs
