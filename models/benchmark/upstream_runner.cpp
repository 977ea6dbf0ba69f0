#include "benchmark/upstream_runner.h"

#include <cstdio>

namespace demucs::benchmark {

std::string python_with_torch(const std::string& preferred) {
  for (const std::string& candidate : {preferred, std::string("python3"), std::string("/usr/bin/python3")}) {
    if (candidate.empty()) {
      continue;
    }
    const std::string command = candidate + " -c 'import sys, torch; print(sys.executable)' 2>/dev/null";
    std::FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) {
      continue;
    }
    char path[4096] = {0};
    const bool read = std::fgets(path, sizeof path, pipe) != nullptr;
    if (pclose(pipe) == 0 && read) {
      std::string found(path);
      found.erase(found.find_last_not_of('\n') + 1);
      return found;
    }
  }
  return "";
}

ChildResult run_upstream_script(const std::string& python, const std::string& upstream_src,
                                const std::vector<std::string>& arguments) {
  std::vector<std::string> script_arguments = {DEMUCS_UPSTREAM_SCRIPT, "--upstream-src", upstream_src};
  script_arguments.insert(script_arguments.end(), arguments.begin(), arguments.end());
  return run_child_process(python, script_arguments);
}

}  // namespace demucs::benchmark
