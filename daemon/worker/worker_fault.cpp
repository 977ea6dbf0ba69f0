#include "worker_fault.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace demucs {

void run_test_fault(const std::string &fault) {
  if (fault == "crash") std::abort();
  if (fault == "hang")
    for (;;) pause();
  if (fault == "flood") {  // a report that never ends
    const std::string bytes(1 << 20, 'x');
    for (;;) std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  }
  if (fault == "allocate") {
    constexpr std::size_t kPiece = 64 << 20;
    std::vector<std::unique_ptr<char[]>> held;
    for (;;) {
      held.emplace_back(new char[kPiece]);        // throws std::bad_alloc at the limit
      std::memset(held.back().get(), 1, kPiece);  // really used, not only reserved
    }
  }
}

}  // namespace demucs
