// A value read from a Python pickle, as torch.save writes them: the small
// subset of Python types that Demucs checkpoints use.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace demucs {

class PickleValue;
using PickleList = std::vector<PickleValue>;
// Keys of the dicts we care about are always strings.
using PickleDict = std::vector<std::pair<PickleValue, PickleValue>>;

struct Fraction {
  int64_t numerator = 0;
  int64_t denominator = 1;
  double value() const { return static_cast<double>(numerator) / static_cast<double>(denominator); }
};

class PickleValue {
 public:
  enum class Kind { None, Bool, Int, Float, String, Bytes, List, Tuple, Dict, Fraction, Global, Tensor };

  PickleValue() = default;  // None
  static PickleValue none() { return {}; }
  static PickleValue from_bool(bool v);
  static PickleValue from_int(int64_t v);
  static PickleValue from_float(double v);
  static PickleValue from_string(std::string v);
  static PickleValue from_bytes(std::string v);
  static PickleValue from_list(PickleList v);
  static PickleValue from_tuple(PickleList v);
  static PickleValue from_dict(PickleDict v);
  static PickleValue from_fraction(Fraction v);
  // A reference to a Python class or function, "module.name" (e.g. "demucs.htdemucs.HTDemucs").
  static PickleValue from_global(std::string qualified_name);
  static PickleValue from_tensor(at::Tensor v);

  Kind kind() const { return kind_; }
  bool is_none() const { return kind_ == Kind::None; }
  // A readable name of the kind ("int", "Fraction", ...), for error messages.
  const char* kind_name() const;

  // Accessors throw std::runtime_error naming the expected and actual kinds.
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;  // accepts Int, Float and Fraction
  const std::string& as_string() const;
  const std::string& as_global() const;
  const PickleList& as_list() const;  // accepts List and Tuple
  const PickleDict& as_dict() const;
  Fraction as_fraction() const;  // accepts Int too
  const at::Tensor& as_tensor() const;

  // For Dict values with string keys: the value under `key`, or nullptr.
  const PickleValue* find(const std::string& key) const;

  // Python-like text, for error messages and debugging ("[1, 2]", "Fraction(39, 5)").
  std::string repr() const;

 private:
  Kind kind_ = Kind::None;
  bool bool_ = false;
  int64_t int_ = 0;
  double float_ = 0.0;
  std::string string_;  // String, Bytes, Global
  std::shared_ptr<PickleList> list_;
  std::shared_ptr<PickleDict> dict_;
  Fraction fraction_;
  at::Tensor tensor_;
};

}  // namespace demucs
