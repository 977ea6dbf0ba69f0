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
  // Object: an instance of a class this reader does not model (for example
  // something inside training_args), kept opaque: its class name, the
  // arguments it was built from and the state BUILD gave it.
  enum class Kind { None, Bool, Int, Float, String, Bytes, List, Tuple, Dict, Fraction, Global, Tensor, Object };

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
  // An opaque instance of `qualified_class`, built from `arguments` (a Tuple,
  // or None when unknown); its state is None until set_object_state().
  static PickleValue from_object(std::string qualified_class, PickleValue arguments);

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
  const std::string& as_bytes() const;
  // Object accessors: the class ("module.name"), the construction arguments
  // and the state set by the pickle's BUILD (None if there was none).
  const std::string& object_class() const;
  const PickleValue& object_arguments() const;
  const PickleValue& object_state() const;

  // For Dict values with string keys: the value under `key`, or nullptr.
  const PickleValue* find(const std::string& key) const;

  // Mutators the unpickler uses to fill containers after creating them, as
  // pickles do. Lists, dicts and objects share their contents between copies
  // of a PickleValue (like Python references), so every copy sees the change.
  void append(PickleValue item);                       // List only
  void set_item(PickleValue key, PickleValue value);   // Dict only; replaces an equal string key
  void set_object_state(PickleValue state);            // Object only
  // Whether `container` (a List, Tuple, Dict or Object) is this value or is
  // reachable from it: putting this value into `container` would make a
  // reference cycle, which shared_ptr never frees.
  bool reaches(const PickleValue& container) const;

  // Python-like text, for error messages and debugging ("[1, 2]", "Fraction(39, 5)").
  std::string repr() const;

 private:
  Kind kind_ = Kind::None;
  bool bool_ = false;
  int64_t int_ = 0;
  double float_ = 0.0;
  std::string string_;  // String, Bytes, Global; the class of an Object
  std::shared_ptr<PickleList> list_;  // List, Tuple; for Object: {arguments, state}
  std::shared_ptr<PickleDict> dict_;
  Fraction fraction_;
  at::Tensor tensor_;
};

}  // namespace demucs
