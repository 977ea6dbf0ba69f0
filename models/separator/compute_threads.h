// LibTorch's intra-op thread count. LibTorch on these machines starts with one
// thread, so whoever runs a network sets it explicitly.
#pragma once

namespace demucs {

// Sets at::set_num_threads(threads); threads <= 0 means every core
// (std::thread::hardware_concurrency(), at least 1). Returns the count set.
int set_compute_threads(int threads = 0);

// The current intra-op thread count (at::get_num_threads()).
int compute_threads();

}  // namespace demucs
