// Benchmark cases in child processes of their own: each starts fresh (its own
// peak RSS, no model, allocator or cache state left by another case), and
// reports what it measured as one line of JSON on its standard output.
#pragma once

#include <string>
#include <vector>

namespace demucs::benchmark {

// How a child process ended.
struct ChildResult {
  bool ok = false;            // exited with status 0 and printed something
  std::string output;         // its standard output, without the trailing newlines
  std::string failure;        // why not ok: exit status or signal ("" when ok)
  double peak_rss_mib = 0.0;  // its maximum resident set size (wait4's ru_maxrss)
  double cpu_seconds = 0.0;   // the CPU time it used, user + system, all threads
};

// The path of the running program (/proc/self/exe), to run it again as a
// child. Throws std::runtime_error when it cannot be found.
std::string this_program_path();

// Runs `program` with `arguments` (no shell: arguments pass as they are), its
// standard error going to ours, waits for it and returns its output.
ChildResult run_child_process(const std::string& program, const std::vector<std::string>& arguments);

// The number after "key": in a child's one-line JSON report. Throws
// std::runtime_error when the report has no such key.
double json_number(const std::string& json, const std::string& key);

}  // namespace demucs::benchmark
