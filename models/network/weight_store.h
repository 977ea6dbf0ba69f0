// Hands out the tensors of a checkpoint's state dict to the layers that own
// them, checking names and shapes, and converting them to float32 on the
// model's device. Whatever is left at the end is an unexpected tensor.
#pragma once

#include "demucs/demucs.h"  // StateMismatchError

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace demucs {

class WeightStore {
 public:
  WeightStore(std::map<std::string, at::Tensor> state, std::string origin, at::Device device);

  // A store that makes up every tensor asked for: random weights scaled by
  // 1/sqrt(fan-in), for benchmarks of an architecture without its checkpoint.
  static WeightStore random(uint64_t seed, at::Device device);

  // The tensor `name`, which must have exactly `shape`. Throws StateMismatchError.
  at::Tensor take(const std::string& name, const std::vector<int64_t>& shape);

  // How many tensors, and how many values in them, were taken so far.
  int64_t tensors_taken() const { return tensors_taken_; }
  int64_t parameters_taken() const { return parameters_taken_; }
  // Every tensor taken so far, by name, as take() returned it (the same
  // tensors, not copies): the network's state, random ones included.
  const std::map<std::string, at::Tensor>& taken() const { return taken_; }

  // Throws StateMismatchError naming every tensor nobody took.
  void expect_all_taken() const;

 private:
  int64_t tensors_taken_ = 0;
  int64_t parameters_taken_ = 0;
  bool random_ = false;
  at::Generator generator_;
  std::map<std::string, at::Tensor> state_;
  std::map<std::string, at::Tensor> taken_;
  std::string origin_;
  at::Device device_;
};

}  // namespace demucs
