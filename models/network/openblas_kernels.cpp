#include "network/openblas_kernels.h"

#include <dlfcn.h>
#include <strings.h>

#include <cstdlib>
#include <mutex>

namespace demucs {

namespace {

// The core OpenBLAS would choose for what this CPU supports, or nullptr.
const char* core_for_this_cpu() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  // Not Cooperlake for AVX-512 with bf16: its float32 kernels are SkylakeX's,
  // and 0.3.21's Cooperlake measured no faster here.
  if (avx512) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return "Haswell";
  }
#endif
  return nullptr;
}

std::string choose_kernels() {
  // Looked up at run time: libdemucs does not link OpenBLAS itself, and
  // another BLAS (or a static OpenBLAS without DYNAMIC_ARCH) lacks them.
  using CoreName = char* (*)();
  using Action = void (*)();
  const auto core_name = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const auto dynamic_quit = reinterpret_cast<Action>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
  const auto dynamic_init = reinterpret_cast<Action>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
  if (core_name == nullptr) {
    return "";
  }
  const std::string current = core_name();
  const char* better = core_for_this_cpu();
  if (dynamic_quit == nullptr || dynamic_init == nullptr || std::getenv("OPENBLAS_CORETYPE") != nullptr ||
      strcasecmp(current.c_str(), "prescott") != 0 || better == nullptr) {
    return current;
  }
  // gotoblas_dynamic_init() reads OPENBLAS_CORETYPE; the environment is
  // given back as it was (child processes choose for themselves).
  setenv("OPENBLAS_CORETYPE", better, 1);
  dynamic_quit();
  dynamic_init();
  unsetenv("OPENBLAS_CORETYPE");
  return core_name();
}

}  // namespace

std::string select_openblas_kernels() {
  static std::once_flag once;
  static std::string core;
  std::call_once(once, [] { core = choose_kernels(); });
  return core;
}

namespace {

using GetThreads = int (*)();
using SetThreads = void (*)(int);

std::mutex blas_threads_mutex;
int single_threaded_users = 0;
int threads_before = 0;

}  // namespace

SingleThreadedBlas::SingleThreadedBlas() {
  static const auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  static const auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  const std::lock_guard<std::mutex> lock(blas_threads_mutex);
  if (single_threaded_users++ == 0 && get != nullptr && set != nullptr) {
    threads_before = get();
    if (threads_before != 1) {
      set(1);
    }
  }
}

SingleThreadedBlas::~SingleThreadedBlas() {
  static const auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  const std::lock_guard<std::mutex> lock(blas_threads_mutex);
  if (--single_threaded_users == 0 && set != nullptr && threads_before > 1) {
    set(threads_before);
  }
}

bool openmp_threads_spin() {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  return policy == nullptr || strcasecmp(policy, "passive") != 0;
}

}  // namespace demucs
