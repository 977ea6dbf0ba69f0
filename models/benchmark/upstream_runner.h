// Upstream Demucs run by the benchmarks for comparison (--upstream-src DIR):
// upstream_apply_model.py, next to this file in the source tree, in a Python
// child process that has torch. Opt-in: none of this is a build or test
// dependency.
#pragma once

#include "benchmark/child_process.h"

#include <string>
#include <vector>

namespace demucs::benchmark {

// The interpreter (sys.executable) of the first of `preferred` (when not
// empty), python3 and /usr/bin/python3 that can import torch, or "" when
// none can: a python3 first on PATH (pyenv, a virtual environment) may lack
// the torch that Debian's python3-torch gives /usr/bin/python3.
std::string python_with_torch(const std::string& preferred);

// Runs upstream_apply_model.py with `python`, upstream's source folder (that
// holds demucs/) and `arguments` (the script's options, see its docstring);
// its one JSON line is the result's output, its peak RSS and CPU time those
// of wait4.
ChildResult run_upstream_script(const std::string& python, const std::string& upstream_src,
                                const std::vector<std::string>& arguments);

}  // namespace demucs::benchmark
