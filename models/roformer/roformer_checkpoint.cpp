// The state_dict of a RoFormer .ckpt, wherever the saving code put it.
#include "roformer/roformer_checkpoint.h"

#include "checkpoint/checkpoint_reader.h"
#include "checkpoint/pickle_value.h"
#include "demucs/demucs.h"

#include <string>

namespace demucs {

namespace {

constexpr const char* kDataParallelPrefix = "module.";

// The wrappers the reference unwraps, in its order (utils/model_utils.py
// load_start_checkpoint: state, state_dict, model_state_dict), and `model`,
// which other training code uses for the same thing.
const char* const kWrapperKeys[] = {"state", "state_dict", "model_state_dict", "model"};

bool is_dict(const PickleValue& value) { return value.kind() == PickleValue::Kind::Dict; }

const PickleValue& unwrapped(const PickleValue& root) {
  const PickleValue* current = &root;
  for (const char* key : kWrapperKeys) {
    const PickleValue* inner = current->find(key);
    if (inner != nullptr && is_dict(*inner)) current = inner;
  }
  return *current;
}

bool all_prefixed(const std::map<std::string, at::Tensor>& state, const std::string& prefix) {
  for (const auto& item : state) {
    if (item.first.compare(0, prefix.size(), prefix) != 0) return false;
  }
  return !state.empty();
}

std::map<std::string, at::Tensor> without_prefix(const std::map<std::string, at::Tensor>& state,
                                                 const std::string& prefix) {
  std::map<std::string, at::Tensor> stripped;
  for (const auto& item : state) stripped.emplace(item.first.substr(prefix.size()), item.second);
  return stripped;
}

}  // namespace

std::map<std::string, at::Tensor> read_roformer_state(const std::string& path) {
  const PickleValue root = read_torch_save(path);
  if (!is_dict(root)) {
    throw CheckpointError(path + ": not a RoFormer checkpoint: it holds a " + std::string(root.kind_name()) +
                          ", expected a state_dict (a dict of tensor names to tensors)");
  }
  const PickleValue& dict = unwrapped(root);
  std::map<std::string, at::Tensor> state;
  for (const auto& [key, value] : dict.as_dict()) {
    if (key.kind() != PickleValue::Kind::String || value.kind() != PickleValue::Kind::Tensor) {
      throw CheckpointError(path + ": not a RoFormer checkpoint: expected a state_dict (tensor names to tensors), "
                            "found the item " + key.repr() + ": " + value.kind_name());
    }
    state.emplace(key.as_string(), value.as_tensor());
  }
  if (state.empty()) throw CheckpointError(path + ": not a RoFormer checkpoint: its state_dict is empty");
  return all_prefixed(state, kDataParallelPrefix) ? without_prefix(state, kDataParallelPrefix) : state;
}

}  // namespace demucs
