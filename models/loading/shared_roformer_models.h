// Loads RoFormer checkpoints, keeping one loaded copy per checkpoint,
// configuration, device and precision in the process, as load_shared_htdemucs
// does for Demucs: several elements or jobs that ask for the same model share it.
#pragma once

#include "demucs/demucs.h"  // Precision
#include "roformer/roformer.h"

#include <c10/core/Device.h>

#include <memory>
#include <string>

namespace demucs {

// Reads `checkpoint` with its YAML `config` (both existing files) and builds
// the network on `device` in `precision`, or returns the copy already loaded
// (while anyone still holds it). A file is the same while its path, size and
// modification time are. Throws what load_roformer throws.
std::shared_ptr<Roformer> load_shared_roformer(const std::string& checkpoint, const std::string& config,
                                               c10::Device device, Precision precision = Precision::fp32);

}  // namespace demucs
