#include "benchmark/op_profile.h"

#include <ATen/record_function.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace demucs::benchmark {

namespace {

using Clock = std::chrono::steady_clock;

struct OpTotal {
  double seconds = 0;
  long calls = 0;
};

std::mutex totals_mutex;
std::map<std::string, OpTotal>& totals() {
  static std::map<std::string, OpTotal> map;
  return map;
}
thread_local int depth = 0;
// The most heap memory in use (malloc's arenas and its mmap'd blocks) seen at
// the end of an operator, and that operator.
double peak_heap_mib = 0;
std::string peak_heap_op;

struct StartTime : at::ObserverContext {
  Clock::time_point start;
  bool top = false;
};

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction&) {
  auto context = std::make_unique<StartTime>();
  context->top = depth++ == 0;
  context->start = Clock::now();
  return context;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* context) {
  const auto* started = static_cast<StartTime*>(context);
  --depth;
  const double seconds = std::chrono::duration<double>(Clock::now() - started->start).count();
  const struct mallinfo2 heap = mallinfo2();
  const double heap_mib = static_cast<double>(heap.uordblks + heap.hblkhd) / (1024.0 * 1024.0);
  const std::lock_guard<std::mutex> lock(totals_mutex);
  if (heap_mib > peak_heap_mib) {
    peak_heap_mib = heap_mib;
    peak_heap_op = fn.name();
  }
  if (started->top) {
    OpTotal& total = totals()[fn.name()];
    total.seconds += seconds;
    ++total.calls;
  }
}

}  // namespace

void start_op_profile() {
  at::addGlobalCallback(at::RecordFunctionCallback(on_start, on_end).scopes({at::RecordScope::FUNCTION}));
}

void print_op_profile(std::FILE* out, int top) {
  const std::lock_guard<std::mutex> lock(totals_mutex);
  std::vector<std::pair<std::string, OpTotal>> sorted(totals().begin(), totals().end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  double sum = 0;
  for (const auto& entry : sorted) {
    sum += entry.second.seconds;
  }
  std::fprintf(out, "{\"peak_heap_mib\": %.1f, \"peak_heap_after\": \"%s\", \"ops\": [", peak_heap_mib,
               peak_heap_op.c_str());
  for (int i = 0; i < top && i < static_cast<int>(sorted.size()); ++i) {
    const auto& [name, total] = sorted[static_cast<std::size_t>(i)];
    std::fprintf(out, "%s\n  {\"op\": \"%s\", \"seconds\": %.3f, \"share\": %.3f, \"calls\": %ld}", i ? "," : "",
                 name.c_str(), total.seconds, sum > 0 ? total.seconds / sum : 0.0, total.calls);
  }
  std::fprintf(out, "\n]}\n");
}

}  // namespace demucs::benchmark
