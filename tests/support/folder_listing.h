// What a folder holds, for tests that check what a program left on disk.
#pragma once

#include <string>
#include <vector>

namespace demucs::testing {

/// The files (not folders) anywhere below `folder`; a symbolic link counts
/// as a file and is not followed. Empty when the folder does not exist.
std::vector<std::string> files_below(const std::string &folder);

}  // namespace demucs::testing
