#include "network/compute_runtime.h"

#include "network/openblas_kernels.h"
#include "network/tensor_memory.h"

#include <ATen/Context.h>

namespace demucs {

void prepare_compute_runtime(c10::Device device) {
  select_openblas_kernels();
  use_large_page_tensor_memory();
  if (device.is_cuda()) {
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
  }
}

}  // namespace demucs
