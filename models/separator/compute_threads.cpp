#include "separator/compute_threads.h"

#include <ATen/Parallel.h>

#include <thread>

namespace demucs {

int set_compute_threads(int threads) {
  if (threads <= 0) {
    threads = static_cast<int>(std::thread::hardware_concurrency());
    if (threads <= 0) {
      threads = 1;
    }
  }
  if (at::get_num_threads() != threads) {
    at::set_num_threads(threads);
  }
  return threads;
}

int compute_threads() { return at::get_num_threads(); }

}  // namespace demucs
