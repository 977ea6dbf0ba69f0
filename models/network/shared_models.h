// Loads HTDemucs checkpoints, keeping one loaded copy per file and device in
// the process: several elements or jobs that ask for the same model share it.
#pragma once

#include "network/htdemucs.h"

#include <c10/core/Device.h>

#include <memory>
#include <string>

namespace demucs {

// Reads and builds `path` on `device`, or returns the copy already loaded
// (while anyone still holds it). Throws CheckpointError, UnsupportedModelError
// or StateMismatchError.
std::shared_ptr<HTDemucs> load_shared_htdemucs(const std::string& path, c10::Device device);

}  // namespace demucs
