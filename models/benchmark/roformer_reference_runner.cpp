#include "benchmark/roformer_reference_runner.h"

namespace demucs::benchmark {

ChildResult run_reference_roformer_script(const std::string& python, const std::string& reference_src,
                                          const std::vector<std::string>& arguments) {
  std::vector<std::string> script_arguments = {DEMUCS_ROFORMER_REFERENCE_SCRIPT, "--reference-src", reference_src};
  script_arguments.insert(script_arguments.end(), arguments.begin(), arguments.end());
  return run_child_process(python, script_arguments);
}

}  // namespace demucs::benchmark
