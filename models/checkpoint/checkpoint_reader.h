// Reads an official Demucs checkpoint (.th): a torch.save zip archive whose
// data.pkl holds {klass, args, kwargs, state, training_args}, with the tensors
// of `state` stored in the archive's data/N records. No Python involved.
#pragma once

#include "demucs/demucs.h"  // CheckpointError

#include "checkpoint/pickle_value.h"

#include <ATen/core/Tensor.h>

#include <map>
#include <stdexcept>
#include <string>

namespace demucs {

struct Checkpoint {
  std::string path;
  std::string klass;                              // e.g. "demucs.htdemucs.HTDemucs"
  std::map<std::string, PickleValue> kwargs;      // the model's constructor arguments
  std::map<std::string, at::Tensor> state;        // state_dict as stored (float16 in official files)
};

// Reads `path`. Throws CheckpointError if the file is missing, not a zip,
// truncated, not a Demucs checkpoint, or holds a diffq-quantized state.
// The model class is returned as it is: checking it is the network's job.
Checkpoint read_checkpoint(const std::string& path);

// Reads any torch.save file whose pickle is a dict of str -> tensor
// (for example captured activations). Throws CheckpointError.
std::map<std::string, at::Tensor> read_tensor_dict(const std::string& path);

// Reads any torch.save file and returns its unpickled root object. Throws CheckpointError.
PickleValue read_torch_save(const std::string& path);

}  // namespace demucs
