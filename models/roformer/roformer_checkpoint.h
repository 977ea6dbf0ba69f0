// Reads the weights of a community RoFormer checkpoint (.ckpt): a torch.save
// of the model's state_dict, read with the library's checkpoint reader.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace demucs {

/// The state_dict in the torch.save file `path`, as the reference's
/// load_start_checkpoint finds it: the root dict, or the dict under `state`,
/// then `state_dict`, then `model_state_dict` (full training checkpoints), or
/// under `model`. Keys all prefixed "module." (a model saved from its
/// DataParallel wrapper) lose the prefix. Tensors keep their stored dtype
/// (float16 / bfloat16 in some files).
/// Throws CheckpointError naming the file when it is not a torch.save file or
/// holds no dict of tensor names to tensors (naming the first item that is not).
std::map<std::string, at::Tensor> read_roformer_state(const std::string& path);

}  // namespace demucs
