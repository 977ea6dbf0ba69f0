// The reference RoFormer separation (ZFTurbo Music-Source-Separation-Training's
// own model code and demix), run by roformer-benchmark for comparison:
// reference_roformer_demix.py, next to this file in the source tree, in a
// Python child process with torch. Opt-in (--reference-src DIR): none of this
// is a build or test dependency.
#pragma once

#include "benchmark/child_process.h"

#include <string>
#include <vector>

namespace demucs::benchmark {

// Runs reference_roformer_demix.py with `python`, the reference checkout
// `reference_src` (that holds models/bs_roformer/ and utils/) and `arguments`
// (the script's options, see its docstring); its one JSON line is the
// result's output, its peak RSS and CPU time those of wait4.
ChildResult run_reference_roformer_script(const std::string& python, const std::string& reference_src,
                                          const std::vector<std::string>& arguments);

}  // namespace demucs::benchmark
