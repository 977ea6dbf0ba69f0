// What a network needs set up in the process before its weights exist, the
// same for every model family (HTDemucs, RoFormer).
#pragma once

#include <c10/core/Device.h>

namespace demucs {

// On the CPU: OpenBLAS's kernels for this CPU (openblas_kernels.h) and large
// tensors on their own huge-page mappings (tensor_memory.h). On CUDA:
// float32 that is float32 -- TF32 off for cuDNN and cuBLAS, for the whole
// process, as torch.backends.cudnn.allow_tf32 = False and
// torch.backends.cuda.matmul.allow_tf32 = False would (the references'
// numbers are float32 ones; TF32 costs about 3 decimal digits).
void prepare_compute_runtime(c10::Device device);

}  // namespace demucs
