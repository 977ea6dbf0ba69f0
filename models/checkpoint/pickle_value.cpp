#include "checkpoint/pickle_value.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <unordered_set>

namespace demucs {

namespace {

// Deeper structures are printed as "..." by repr(): it is for messages, and a
// corrupt pickle may hold a list that contains itself.
constexpr int kMaxReprDepth = 32;

// Python's repr() of a float: the shortest digits that read back to the same
// double, in fixed notation for exponents -4..15 and scientific otherwise.
std::string python_float_repr(double v) {
  if (std::isnan(v)) {
    return "nan";
  }
  if (std::isinf(v)) {
    return v > 0 ? "inf" : "-inf";
  }
  char buffer[64];
  for (int precision = 0; precision < 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*e", precision, v);
    if (std::strtod(buffer, nullptr) == v) {
      break;
    }
  }
  // buffer is "[-]d[.ddd]e[+-]xx".
  std::string scientific(buffer);
  const bool negative = scientific[0] == '-';
  if (negative) {
    scientific.erase(0, 1);
  }
  const auto e = scientific.find('e');
  const int exponent = std::atoi(scientific.c_str() + e + 1);
  std::string digits = scientific.substr(0, e);
  if (digits.size() > 1) {
    digits.erase(1, 1);  // the decimal point
  }
  std::string text;
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      text = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      text = digits + std::string(static_cast<size_t>(exponent + 1) - digits.size(), '0') + ".0";
    } else {
      text = digits.substr(0, static_cast<size_t>(exponent) + 1) + "." +
             digits.substr(static_cast<size_t>(exponent) + 1);
    }
  } else {
    text = digits.substr(0, 1);
    if (digits.size() > 1) {
      text += "." + digits.substr(1);
    }
    char exponent_text[16];
    std::snprintf(exponent_text, sizeof exponent_text, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    text += exponent_text;
  }
  return negative ? "-" + text : text;
}

std::string quoted(const std::string& text, const char* prefix) {
  std::string out = prefix;
  out += '\'';
  for (const unsigned char c : text) {
    if (c == '\'' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '\'';
  return out;
}

bool equal_keys(const PickleValue& a, const PickleValue& b) {
  if (a.kind() != b.kind()) {
    return false;
  }
  switch (a.kind()) {
    case PickleValue::Kind::String:
      return a.as_string() == b.as_string();
    case PickleValue::Kind::Int:
      return a.as_int() == b.as_int();
    case PickleValue::Kind::Bool:
      return a.as_bool() == b.as_bool();
    case PickleValue::Kind::None:
      return true;
    default:
      return false;
  }
}

std::string repr_at_depth(const PickleValue& value, int depth);

std::string repr_items(const PickleList& items, int depth) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : ", ") + repr_at_depth(items[i], depth + 1);
  }
  return out;
}

std::string repr_at_depth(const PickleValue& value, int depth) {
  if (depth > kMaxReprDepth) {
    return "...";
  }
  switch (value.kind()) {
    case PickleValue::Kind::None:
      return "None";
    case PickleValue::Kind::Bool:
      return value.as_bool() ? "True" : "False";
    case PickleValue::Kind::Int:
      return std::to_string(value.as_int());
    case PickleValue::Kind::Float:
      return python_float_repr(value.as_double());
    case PickleValue::Kind::String:
      return quoted(value.as_string(), "");
    case PickleValue::Kind::Bytes:
      return quoted(value.as_bytes(), "b");
    case PickleValue::Kind::List:
      return "[" + repr_items(value.as_list(), depth) + "]";
    case PickleValue::Kind::Tuple: {
      const auto& items = value.as_list();
      return "(" + repr_items(items, depth) + (items.size() == 1 ? ",)" : ")");
    }
    case PickleValue::Kind::Dict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, item] : value.as_dict()) {
        out += (first ? "" : ", ") + repr_at_depth(key, depth + 1) + ": " + repr_at_depth(item, depth + 1);
        first = false;
      }
      return out + "}";
    }
    case PickleValue::Kind::Fraction: {
      const Fraction f = value.as_fraction();
      return "Fraction(" + std::to_string(f.numerator) + ", " + std::to_string(f.denominator) + ")";
    }
    case PickleValue::Kind::Global:
      return value.as_global();
    case PickleValue::Kind::Tensor: {
      const at::Tensor& t = value.as_tensor();
      if (!t.defined()) {
        return "tensor(undefined)";
      }
      std::string out = "tensor(";
      out += c10::toString(t.scalar_type());
      out += ", [";
      for (int64_t d = 0; d < t.dim(); ++d) {
        out += (d == 0 ? "" : ", ") + std::to_string(t.size(d));
      }
      return out + "])";
    }
    case PickleValue::Kind::Object: {
      const PickleValue& arguments = value.object_arguments();
      std::string out = value.object_class() + "(";
      if (arguments.kind() == PickleValue::Kind::Tuple) {
        out += repr_items(arguments.as_list(), depth);
      }
      out += ")";
      if (!value.object_state().is_none()) {
        out += " with state " + repr_at_depth(value.object_state(), depth + 1);
      }
      return out;
    }
  }
  return "?";
}

}  // namespace

PickleValue PickleValue::from_bool(bool v) {
  PickleValue p;
  p.kind_ = Kind::Bool;
  p.bool_ = v;
  return p;
}

PickleValue PickleValue::from_int(int64_t v) {
  PickleValue p;
  p.kind_ = Kind::Int;
  p.int_ = v;
  return p;
}

PickleValue PickleValue::from_float(double v) {
  PickleValue p;
  p.kind_ = Kind::Float;
  p.float_ = v;
  return p;
}

PickleValue PickleValue::from_string(std::string v) {
  PickleValue p;
  p.kind_ = Kind::String;
  p.string_ = std::move(v);
  return p;
}

PickleValue PickleValue::from_bytes(std::string v) {
  PickleValue p;
  p.kind_ = Kind::Bytes;
  p.string_ = std::move(v);
  return p;
}

PickleValue PickleValue::from_list(PickleList v) {
  PickleValue p;
  p.kind_ = Kind::List;
  p.list_ = std::make_shared<PickleList>(std::move(v));
  return p;
}

PickleValue PickleValue::from_tuple(PickleList v) {
  PickleValue p;
  p.kind_ = Kind::Tuple;
  p.list_ = std::make_shared<PickleList>(std::move(v));
  return p;
}

PickleValue PickleValue::from_dict(PickleDict v) {
  PickleValue p;
  p.kind_ = Kind::Dict;
  p.dict_ = std::make_shared<PickleDict>(std::move(v));
  return p;
}

PickleValue PickleValue::from_fraction(Fraction v) {
  PickleValue p;
  p.kind_ = Kind::Fraction;
  p.fraction_ = v;
  return p;
}

PickleValue PickleValue::from_global(std::string qualified_name) {
  PickleValue p;
  p.kind_ = Kind::Global;
  p.string_ = std::move(qualified_name);
  return p;
}

PickleValue PickleValue::from_tensor(at::Tensor v) {
  PickleValue p;
  p.kind_ = Kind::Tensor;
  p.tensor_ = std::move(v);
  return p;
}

PickleValue PickleValue::from_object(std::string qualified_class, PickleValue arguments) {
  PickleValue p;
  p.kind_ = Kind::Object;
  p.string_ = std::move(qualified_class);
  p.list_ = std::make_shared<PickleList>(PickleList{std::move(arguments), PickleValue()});
  return p;
}

const char* PickleValue::kind_name() const {
  switch (kind_) {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::String:
      return "str";
    case Kind::Bytes:
      return "bytes";
    case Kind::List:
      return "list";
    case Kind::Tuple:
      return "tuple";
    case Kind::Dict:
      return "dict";
    case Kind::Fraction:
      return "Fraction";
    case Kind::Global:
      return "global";
    case Kind::Tensor:
      return "tensor";
    case Kind::Object:
      return "object";
  }
  return "?";
}

namespace {

[[noreturn]] void throw_wrong_kind(const char* expected, const PickleValue& actual) {
  throw std::runtime_error(std::string("expected a ") + expected + ", got a " + actual.kind_name() + " (" +
                           actual.repr() + ")");
}

}  // namespace

bool PickleValue::as_bool() const {
  if (kind_ != Kind::Bool) {
    throw_wrong_kind("bool", *this);
  }
  return bool_;
}

int64_t PickleValue::as_int() const {
  if (kind_ != Kind::Int) {
    throw_wrong_kind("int", *this);
  }
  return int_;
}

double PickleValue::as_double() const {
  switch (kind_) {
    case Kind::Float:
      return float_;
    case Kind::Int:
      return static_cast<double>(int_);
    case Kind::Fraction:
      return fraction_.value();
    default:
      throw_wrong_kind("float", *this);
  }
}

const std::string& PickleValue::as_string() const {
  if (kind_ != Kind::String) {
    throw_wrong_kind("str", *this);
  }
  return string_;
}

const std::string& PickleValue::as_bytes() const {
  if (kind_ != Kind::Bytes) {
    throw_wrong_kind("bytes", *this);
  }
  return string_;
}

const std::string& PickleValue::as_global() const {
  if (kind_ != Kind::Global) {
    throw_wrong_kind("global (class or function)", *this);
  }
  return string_;
}

const PickleList& PickleValue::as_list() const {
  if (kind_ != Kind::List && kind_ != Kind::Tuple) {
    throw_wrong_kind("list", *this);
  }
  return *list_;
}

const PickleDict& PickleValue::as_dict() const {
  if (kind_ != Kind::Dict) {
    throw_wrong_kind("dict", *this);
  }
  return *dict_;
}

Fraction PickleValue::as_fraction() const {
  if (kind_ == Kind::Int) {
    return Fraction{int_, 1};
  }
  if (kind_ != Kind::Fraction) {
    throw_wrong_kind("Fraction", *this);
  }
  return fraction_;
}

const at::Tensor& PickleValue::as_tensor() const {
  if (kind_ != Kind::Tensor) {
    throw_wrong_kind("tensor", *this);
  }
  return tensor_;
}

const std::string& PickleValue::object_class() const {
  if (kind_ != Kind::Object) {
    throw_wrong_kind("object", *this);
  }
  return string_;
}

const PickleValue& PickleValue::object_arguments() const {
  if (kind_ != Kind::Object) {
    throw_wrong_kind("object", *this);
  }
  return (*list_)[0];
}

const PickleValue& PickleValue::object_state() const {
  if (kind_ != Kind::Object) {
    throw_wrong_kind("object", *this);
  }
  return (*list_)[1];
}

const PickleValue* PickleValue::find(const std::string& key) const {
  if (kind_ != Kind::Dict) {
    return nullptr;
  }
  for (const auto& [k, v] : *dict_) {
    if (k.kind_ == Kind::String && k.string_ == key) {
      return &v;
    }
  }
  return nullptr;
}

void PickleValue::append(PickleValue item) {
  if (kind_ != Kind::List) {
    throw_wrong_kind("list", *this);
  }
  list_->push_back(std::move(item));
}

void PickleValue::set_item(PickleValue key, PickleValue value) {
  if (kind_ != Kind::Dict) {
    throw_wrong_kind("dict", *this);
  }
  for (auto& entry : *dict_) {
    if (equal_keys(entry.first, key)) {
      entry.second = std::move(value);
      return;
    }
  }
  dict_->emplace_back(std::move(key), std::move(value));
}

void PickleValue::set_object_state(PickleValue state) {
  if (kind_ != Kind::Object) {
    throw_wrong_kind("object", *this);
  }
  (*list_)[1] = std::move(state);
}

std::string PickleValue::repr() const {
  return repr_at_depth(*this, 0);
}

bool PickleValue::reaches(const PickleValue& container) const {
  const void* target = container.list_ ? static_cast<const void*>(container.list_.get())
                                       : static_cast<const void*>(container.dict_.get());
  if (target == nullptr) return false;
  // Iterative, with a visited set: memo references make a DAG whose paths
  // can be exponentially many.
  std::unordered_set<const void*> visited;
  std::vector<const PickleValue*> pending{this};
  while (!pending.empty()) {
    const PickleValue* value = pending.back();
    pending.pop_back();
    if (value->list_) {
      if (value->list_.get() == target) return true;
      if (!visited.insert(value->list_.get()).second) continue;
      for (const auto& item : *value->list_) pending.push_back(&item);
    } else if (value->dict_) {
      if (value->dict_.get() == target) return true;
      if (!visited.insert(value->dict_.get()).second) continue;
      for (const auto& [key, item] : *value->dict_) {
        pending.push_back(&key);
        pending.push_back(&item);
      }
    }
  }
  return false;
}

}  // namespace demucs
