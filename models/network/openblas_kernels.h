// OpenBLAS picks its kernels for the CPU it runs on when it loads. Debian 12's
// OpenBLAS 0.3.21 does not know newer CPUs (here an Intel Xeon of family 6,
// model 0xCF, with AVX-512) and falls back to its Prescott (SSE3) kernels:
// LibTorch's float32 matrix products then run at about half the speed the
// CPU's AVX-512 kernels give (95 against 200-230 GFLOP/s on 2 cores).
#pragma once

#include <string>

namespace demucs {

// Once per process, before the first matrix product: when the OpenBLAS that
// LibTorch calls runs its Prescott fallback on a CPU with AVX2 or AVX-512,
// it is re-initialised with the kernels the CPU's instruction set supports
// (SkylakeX for AVX-512, Haswell for AVX2+FMA). A user's OPENBLAS_CORETYPE is left as it is; so is any BLAS
// that is not OpenBLAS. Returns OpenBLAS's core name ("" when the BLAS is
// not OpenBLAS).
std::string select_openblas_kernels();

// Whether LibTorch's OpenMP threads busy-wait between operations: true unless
// OMP_WAIT_POLICY says PASSIVE, which libgomp read when it was loaded (the
// demucsvocals plugin sets it before it loads LibTorch; a program that links
// libdemucs itself sets it in its environment). Where they spin, libdemucs
// splits the transformer's matrix products between them itself
// (SingleThreadedBlas); where they sleep, OpenBLAS's own threads do the
// products faster (12 s, full size: 13.4 and 14.2 s against 15.6 and 15.6 s).
bool openmp_threads_spin();

// While one lives (in any thread), OpenBLAS runs each call in the calling
// thread alone (openblas_set_num_threads(1)); the previous count comes back
// when the last one ends. For matrix products that libdemucs itself splits
// between LibTorch's OpenMP threads: one pool of threads for everything, and
// no OpenBLAS threads competing with OpenMP threads that spin between
// operations (OMP_WAIT_POLICY unset). Without OpenBLAS, nothing happens.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;
};

}  // namespace demucs
