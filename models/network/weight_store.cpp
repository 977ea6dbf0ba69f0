#include "network/weight_store.h"

#include <ATen/ATen.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <sstream>

namespace demucs {

namespace {

std::string shape_text(at::IntArrayRef shape) {
  std::ostringstream out;
  out << "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    out << (i ? ", " : "") << shape[i];
  }
  out << (shape.size() == 1 ? ",)" : ")");
  return out.str();
}

}  // namespace

WeightStore::WeightStore(std::map<std::string, at::Tensor> state, std::string origin, at::Device device)
    : state_(std::move(state)), origin_(std::move(origin)), device_(device) {}

WeightStore WeightStore::random(uint64_t seed, at::Device device) {
  WeightStore store({}, "random weights", device);
  store.random_ = true;
  store.generator_ = at::make_generator<at::CPUGeneratorImpl>(seed);
  return store;
}

at::Tensor WeightStore::take(const std::string& name, const std::vector<int64_t>& shape) {
  ++tensors_taken_;
  int64_t count = 1;
  for (int64_t size : shape) {
    count *= size;
  }
  parameters_taken_ += count;
  if (random_) {
    int64_t fan_in = 1;
    for (size_t i = 1; i < shape.size(); ++i) {
      fan_in *= shape[i];
    }
    const at::Tensor values = at::randn(shape, generator_, at::kFloat) / std::sqrt(static_cast<double>(fan_in));
    return taken_[name] = values.to(device_);
  }
  const auto it = state_.find(name);
  if (it == state_.end()) {
    throw StateMismatchError(origin_ + ": tensor '" + name + "' is missing from the checkpoint state (expected shape " +
                             shape_text(shape) + ")");
  }
  if (it->second.sizes() != at::IntArrayRef(shape)) {
    throw StateMismatchError(origin_ + ": tensor '" + name + "' has shape " + shape_text(it->second.sizes()) +
                             ", the model's kwargs need " + shape_text(shape));
  }
  at::Tensor tensor = it->second.to(device_, at::kFloat).contiguous();
  state_.erase(it);
  return taken_[name] = tensor;
}

void WeightStore::expect_all_taken() const {
  if (state_.empty()) {
    return;
  }
  std::string names;
  for (const auto& entry : state_) {
    names += (names.empty() ? "'" : ", '") + entry.first + "'";
  }
  throw StateMismatchError(origin_ + ": unexpected tensor" + (state_.size() > 1 ? "s " : " ") + names +
                           " in the checkpoint state (not part of the network its kwargs describe)");
}

}  // namespace demucs
