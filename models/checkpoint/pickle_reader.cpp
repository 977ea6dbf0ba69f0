#include "checkpoint/pickle_reader.h"

#include "checkpoint/pickle_opcodes.h"
#include "checkpoint/torch_storage_types.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <numeric>
#include <unordered_map>
#include <vector>

namespace demucs {

namespace {

using namespace pickle;  // the Opcode constants


const char* opcode_name(uint8_t op) {
  switch (op) {
    case kMark: return "MARK";
    case kStop: return "STOP";
    case kPop: return "POP";
    case kPopMark: return "POP_MARK";
    case kDup: return "DUP";
    case kBinFloat: return "BINFLOAT";
    case kBinInt: return "BININT";
    case kBinInt1: return "BININT1";
    case kBinInt2: return "BININT2";
    case kNone: return "NONE";
    case kBinPersId: return "BINPERSID";
    case kReduce: return "REDUCE";
    case kBinUnicode: return "BINUNICODE";
    case kEmptyList: return "EMPTY_LIST";
    case kAppend: return "APPEND";
    case kBuild: return "BUILD";
    case kGlobal: return "GLOBAL";
    case kDict: return "DICT";
    case kEmptyDict: return "EMPTY_DICT";
    case kAppends: return "APPENDS";
    case kBinGet: return "BINGET";
    case kLongBinGet: return "LONG_BINGET";
    case kList: return "LIST";
    case kBinPut: return "BINPUT";
    case kLongBinPut: return "LONG_BINPUT";
    case kSetItem: return "SETITEM";
    case kTuple: return "TUPLE";
    case kEmptyTuple: return "EMPTY_TUPLE";
    case kSetItems: return "SETITEMS";
    case kProto: return "PROTO";
    case kNewObj: return "NEWOBJ";
    case kTuple1: return "TUPLE1";
    case kTuple2: return "TUPLE2";
    case kTuple3: return "TUPLE3";
    case kNewTrue: return "NEWTRUE";
    case kNewFalse: return "NEWFALSE";
    case kLong1: return "LONG1";
    case kLong4: return "LONG4";
    case kBinBytes: return "BINBYTES";
    case kShortBinBytes: return "SHORT_BINBYTES";
    case kShortBinUnicode: return "SHORT_BINUNICODE";
    case kBinUnicode8: return "BINUNICODE8";
    case kBinBytes8: return "BINBYTES8";
    case kEmptySet: return "EMPTY_SET";
    case kAddItems: return "ADDITEMS";
    case kFrozenSet: return "FROZENSET";
    case kNewObjEx: return "NEWOBJ_EX";
    case kStackGlobal: return "STACK_GLOBAL";
    case kMemoize: return "MEMOIZE";
    case kFrame: return "FRAME";
    default: return nullptr;
  }
}

// Little-endian reads from the pickle bytes, each checked against the end.
class ByteCursor {
 public:
  ByteCursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t position() const { return position_; }
  bool at_end() const { return position_ >= size_; }

  const uint8_t* take(uint64_t n) {
    if (n > size_ - position_) {
      throw PickleError("the pickle ends in the middle of an opcode (truncated?): " + std::to_string(n) +
                        " bytes needed at byte " + std::to_string(position_) + ", " +
                        std::to_string(size_ - position_) + " left");
    }
    const uint8_t* p = data_ + position_;
    position_ += static_cast<size_t>(n);
    return p;
  }

  uint64_t unsigned_le(size_t n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      v |= static_cast<uint64_t>(p[i]) << (8 * i);
    }
    return v;
  }

  // Two's complement little-endian integer of n bytes (LONG1/LONG4), n <= 8.
  int64_t signed_le(size_t n) {
    if (n == 0) {
      return 0;
    }
    uint64_t v = unsigned_le(n);
    if (n < 8 && (v >> (8 * n - 1)) != 0) {
      v |= ~uint64_t{0} << (8 * n);  // sign extension
    }
    int64_t result;
    std::memcpy(&result, &v, sizeof result);
    return result;
  }

  double big_endian_double() {
    const uint8_t* p = take(8);
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) {
      bits = (bits << 8) | p[i];
    }
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }

  std::string text(uint64_t n) {
    const uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
  }

  // A newline-terminated line, without the newline (GLOBAL's arguments).
  std::string line() {
    const void* newline = std::memchr(data_ + position_, '\n', size_ - position_);
    if (newline == nullptr) {
      throw PickleError("the pickle ends in the middle of a text line (truncated?)");
    }
    const size_t length = static_cast<size_t>(static_cast<const uint8_t*>(newline) - (data_ + position_));
    std::string s = text(length);
    take(1);
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
};

// Python's Fraction normalises sign and common factors; so do we.
Fraction normalized_fraction(int64_t numerator, int64_t denominator) {
  if (denominator == 0) {
    throw PickleError("Fraction with denominator 0");
  }
  if (denominator < 0) {
    if (numerator == INT64_MIN || denominator == INT64_MIN) {
      throw PickleError("Fraction out of range");
    }
    numerator = -numerator;
    denominator = -denominator;
  }
  const int64_t divisor = std::gcd(numerator, denominator);
  return Fraction{numerator / divisor, denominator / divisor};
}

// "39/5", "-3", " 2/1 ": the str() of a Fraction, as older Pythons pickled it.
Fraction parse_fraction(const std::string& text) {
  const auto fail = [&]() -> Fraction { throw PickleError("cannot read Fraction('" + text + "')"); };
  const auto parse_int = [&](const std::string& s) -> int64_t {
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(s, &used);
    } catch (const std::exception&) {
      fail();
    }
    if (used != s.size()) {
      fail();
    }
    return v;
  };
  const auto first = text.find_first_not_of(" \t\n");
  const auto last = text.find_last_not_of(" \t\n");
  if (first == std::string::npos) {
    return fail();
  }
  const std::string trimmed = text.substr(first, last - first + 1);
  const auto slash = trimmed.find('/');
  if (slash == std::string::npos) {
    return normalized_fraction(parse_int(trimmed), 1);
  }
  return normalized_fraction(parse_int(trimmed.substr(0, slash)), parse_int(trimmed.substr(slash + 1)));
}

// Decodes UTF-8 text whose code points are all < 256 into those bytes: how
// protocol 2 pickles bytes objects, as _codecs.encode(text, 'latin1').
std::string latin1_from_utf8(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if ((c & 0xe0) == 0xc0 && c <= 0xc3 && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) & 0xc0) == 0x80) {
      out += static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3f));
      ++i;
    } else {
      throw PickleError("_codecs.encode(..., 'latin1') of text that is not latin-1");
    }
  }
  return out;
}

std::vector<int64_t> int_tuple(const PickleValue& value, const char* what) {
  if (value.kind() != PickleValue::Kind::Tuple && value.kind() != PickleValue::Kind::List) {
    throw PickleError(std::string("tensor ") + what + " is a " + value.kind_name() + ", expected a tuple of ints");
  }
  std::vector<int64_t> ints;
  for (const auto& item : value.as_list()) {
    if (item.kind() != PickleValue::Kind::Int) {
      throw PickleError(std::string("tensor ") + what + " " + value.repr() + " holds a " + item.kind_name());
    }
    ints.push_back(item.as_int());
  }
  return ints;
}

std::string ints_text(const std::vector<int64_t>& ints) {
  std::string out = "(";
  for (size_t i = 0; i < ints.size(); ++i) {
    out += (i == 0 ? "" : ", ") + std::to_string(ints[i]);
  }
  return out + ")";
}

// torch._utils._rebuild_tensor(_v2)(storage, storage_offset, size, stride, ...):
// a view of `storage` (a 1-D tensor over a whole storage, as persistent_load
// makes them) with the given geometry, checked to lie inside the storage.
at::Tensor rebuild_tensor(const PickleList& args) {
  if (args.size() < 4) {
    throw PickleError("_rebuild_tensor_v2 with " + std::to_string(args.size()) + " arguments, expected at least 4");
  }
  if (args[0].kind() != PickleValue::Kind::Tensor) {
    throw PickleError("_rebuild_tensor_v2 of a " + std::string(args[0].kind_name()) + ", expected a storage");
  }
  const at::Tensor& storage = args[0].as_tensor();
  if (args[1].kind() != PickleValue::Kind::Int) {
    throw PickleError("_rebuild_tensor_v2 storage offset is a " + std::string(args[1].kind_name()));
  }
  const int64_t offset = args[1].as_int();
  const std::vector<int64_t> sizes = int_tuple(args[2], "size");
  const std::vector<int64_t> strides = int_tuple(args[3], "stride");
  const int64_t storage_numel = storage.numel();
  const auto geometry = [&]() { return "size " + ints_text(sizes) + ", stride " + ints_text(strides) +
                                       ", offset " + std::to_string(offset); };
  if (sizes.size() != strides.size()) {
    throw PickleError("tensor with " + geometry() + ": size and stride differ in length");
  }
  bool empty = false;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] < 0 || strides[d] < 0) {
      throw PickleError("tensor with negative " + geometry());
    }
    empty = empty || sizes[d] == 0;
  }
  if (offset < 0 || offset > storage_numel) {
    throw PickleError("tensor with " + geometry() + " outside its storage of " + std::to_string(storage_numel) +
                      " elements");
  }
  if (!empty) {
    // Index of the last element, with overflow checks: it must be inside the storage.
    int64_t last = offset;
    for (size_t d = 0; d < sizes.size(); ++d) {
      int64_t span = 0;
      if (__builtin_mul_overflow(sizes[d] - 1, strides[d], &span) || __builtin_add_overflow(last, span, &last)) {
        last = INT64_MAX;
        break;
      }
    }
    if (last >= storage_numel) {
      throw PickleError("tensor with " + geometry() + " reaches outside its storage of " +
                        std::to_string(storage_numel) + " elements");
    }
  }
  at::Tensor tensor = at::empty({0}, at::TensorOptions().dtype(storage.scalar_type()));
  tensor.set_(storage.storage(), offset, sizes, strides);
  return tensor;
}

class Unpickler {
 public:
  Unpickler(const void* data, size_t size, const StorageRecordSource& storages)
      : cursor_(static_cast<const uint8_t*>(data), size), storages_(storages) {}

  PickleValue run() {
    while (!cursor_.at_end()) {
      opcode_offset_ = cursor_.position();
      opcode_ = cursor_.take(1)[0];
      try {
        if (opcode_ == kStop) {
          return pop();
        }
        execute();
      } catch (const PickleError& e) {
        throw PickleError(where() + e.what());
      } catch (const c10::Error& e) {
        throw PickleError(where() + e.what_without_backtrace());
      }
    }
    throw PickleError("the pickle ends before its STOP opcode (truncated?) at byte " +
                      std::to_string(cursor_.position()));
  }

 private:
  std::string where() const {
    const char* name = opcode_name(opcode_);
    return "pickle byte " + std::to_string(opcode_offset_) + " (" + (name ? name : "?") + "): ";
  }

  // Bottom of the current MARK frame: popping below it is an underflow.
  size_t frame_bottom() const { return marks_.empty() ? 0 : marks_.back(); }

  PickleValue pop() {
    if (stack_.size() <= frame_bottom()) {
      throw PickleError("stack underflow");
    }
    PickleValue v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }

  PickleValue& top() {
    if (stack_.size() <= frame_bottom()) {
      throw PickleError("stack underflow");
    }
    return stack_.back();
  }

  // The items pushed since the last MARK, which is removed.
  PickleList pop_to_mark() {
    if (marks_.empty()) {
      throw PickleError("no MARK to pop to");
    }
    const size_t bottom = marks_.back();
    marks_.pop_back();
    PickleList items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(bottom)),
                     std::make_move_iterator(stack_.end()));
    stack_.resize(bottom);
    return items;
  }

  void push(PickleValue v) { stack_.push_back(std::move(v)); }

  void memo_put(uint64_t index) { memo_[index] = top(); }

  void memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) {
      throw PickleError("memo entry " + std::to_string(index) + " was never stored");
    }
    push(it->second);
  }

  void execute() {
    switch (opcode_) {
      case kProto: {
        const auto version = cursor_.unsigned_le(1);
        if (version > 5) {
          throw PickleError("unsupported pickle protocol " + std::to_string(version));
        }
        break;
      }
      case kFrame:
        cursor_.take(8);  // a frame's length: only a hint for buffering
        break;
      case kMark:
        marks_.push_back(stack_.size());
        break;
      case kPop:
        pop();
        break;
      case kPopMark:
        pop_to_mark();
        break;
      case kDup:
        push(top());
        break;

      case kNone:
        push(PickleValue::none());
        break;
      case kNewTrue:
        push(PickleValue::from_bool(true));
        break;
      case kNewFalse:
        push(PickleValue::from_bool(false));
        break;
      case kBinInt:
        push(PickleValue::from_int(cursor_.signed_le(4)));
        break;
      case kBinInt1:
        push(PickleValue::from_int(static_cast<int64_t>(cursor_.unsigned_le(1))));
        break;
      case kBinInt2:
        push(PickleValue::from_int(static_cast<int64_t>(cursor_.unsigned_le(2))));
        break;
      case kLong1:
        push_long(cursor_.unsigned_le(1));
        break;
      case kLong4:
        push_long(cursor_.unsigned_le(4));
        break;
      case kBinFloat:
        push(PickleValue::from_float(cursor_.big_endian_double()));
        break;

      case kShortBinUnicode:
        push(PickleValue::from_string(cursor_.text(cursor_.unsigned_le(1))));
        break;
      case kBinUnicode:
        push(PickleValue::from_string(cursor_.text(cursor_.unsigned_le(4))));
        break;
      case kBinUnicode8:
        push(PickleValue::from_string(cursor_.text(cursor_.unsigned_le(8))));
        break;
      case kShortBinBytes:
        push(PickleValue::from_bytes(cursor_.text(cursor_.unsigned_le(1))));
        break;
      case kBinBytes:
        push(PickleValue::from_bytes(cursor_.text(cursor_.unsigned_le(4))));
        break;
      case kBinBytes8:
        push(PickleValue::from_bytes(cursor_.text(cursor_.unsigned_le(8))));
        break;

      case kEmptyTuple:
        push(PickleValue::from_tuple({}));
        break;
      case kTuple:
        push(PickleValue::from_tuple(pop_to_mark()));
        break;
      case kTuple1:
      case kTuple2:
      case kTuple3: {
        PickleList items(static_cast<size_t>(opcode_ - kTuple1 + 1));
        for (auto it = items.rbegin(); it != items.rend(); ++it) {
          *it = pop();
        }
        push(PickleValue::from_tuple(std::move(items)));
        break;
      }
      case kEmptyList:
      case kEmptySet:  // sets are read as lists
        push(PickleValue::from_list({}));
        break;
      case kList:
      case kFrozenSet:
        push(PickleValue::from_list(pop_to_mark()));
        break;
      case kAppend: {
        PickleValue item = pop();
        append_to(top(), {std::move(item)});
        break;
      }
      case kAppends:
      case kAddItems: {
        PickleList items = pop_to_mark();
        append_to(top(), std::move(items));
        break;
      }
      case kEmptyDict:
        push(PickleValue::from_dict({}));
        break;
      case kDict: {
        PickleValue dict = PickleValue::from_dict({});
        set_items(dict, pop_to_mark());
        push(std::move(dict));
        break;
      }
      case kSetItem: {
        PickleValue value = pop();
        PickleValue key = pop();
        set_items(top(), {std::move(key), std::move(value)});
        break;
      }
      case kSetItems: {
        PickleList items = pop_to_mark();
        set_items(top(), std::move(items));
        break;
      }

      case kBinPut:
        memo_put(cursor_.unsigned_le(1));
        break;
      case kLongBinPut:
        memo_put(cursor_.unsigned_le(4));
        break;
      case kMemoize:
        memo_put(memo_.size());
        break;
      case kBinGet:
        memo_get(cursor_.unsigned_le(1));
        break;
      case kLongBinGet:
        memo_get(cursor_.unsigned_le(4));
        break;

      case kGlobal: {
        std::string module = cursor_.line();
        std::string name = cursor_.line();
        push(PickleValue::from_global(module + "." + name));
        break;
      }
      case kStackGlobal: {
        PickleValue name = pop();
        PickleValue module = pop();
        if (name.kind() != PickleValue::Kind::String || module.kind() != PickleValue::Kind::String) {
          throw PickleError("STACK_GLOBAL of a non-string");
        }
        push(PickleValue::from_global(module.as_string() + "." + name.as_string()));
        break;
      }
      case kReduce: {
        PickleValue args = pop();
        PickleValue callable = pop();
        push(reduce(callable, args));
        break;
      }
      case kNewObj: {
        PickleValue args = pop();
        PickleValue cls = pop();
        push(new_object(cls, args));
        break;
      }
      case kNewObjEx: {
        pop();  // keyword arguments: not modelled
        PickleValue args = pop();
        PickleValue cls = pop();
        push(new_object(cls, args));
        break;
      }
      case kBuild: {
        PickleValue state = pop();
        PickleValue& object = top();
        // Only opaque objects keep their state; others (tensors, dicts) have none worth reading.
        if (object.kind() == PickleValue::Kind::Object) {
          refuse_cycle(object, state);
          object.set_object_state(std::move(state));
        }
        break;
      }
      case kBinPersId: {
        PickleValue id = pop();
        push(persistent_load(id));
        break;
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", opcode_);
        throw PickleError(std::string("unsupported pickle opcode ") + hex);
      }
    }
  }

  void push_long(uint64_t length) {
    if (length > 8) {
      throw PickleError("integer of " + std::to_string(length) + " bytes does not fit 64 bits");
    }
    push(PickleValue::from_int(cursor_.signed_le(static_cast<size_t>(length))));
  }

  // A container put inside itself (a list that holds itself, through the
  // memo) would never be freed: torch.save never writes one, so refuse it.
  static void refuse_cycle(const PickleValue& container, const PickleValue& item) {
    if (item.reaches(container)) {
      throw PickleError(std::string("a ") + container.kind_name() + " that contains itself (a reference cycle)");
    }
  }

  static void append_to(PickleValue& list, PickleList items) {
    if (list.kind() != PickleValue::Kind::List) {
      throw PickleError(std::string("APPEND to a ") + list.kind_name());
    }
    for (auto& item : items) {
      refuse_cycle(list, item);
      list.append(std::move(item));
    }
  }

  static void set_items(PickleValue& dict, PickleList items) {
    if (dict.kind() != PickleValue::Kind::Dict) {
      throw PickleError(std::string("SETITEM on a ") + dict.kind_name());
    }
    if (items.size() % 2 != 0) {
      throw PickleError("SETITEMS with an odd number of items");
    }
    for (size_t i = 0; i < items.size(); i += 2) {
      refuse_cycle(dict, items[i]);
      refuse_cycle(dict, items[i + 1]);
      dict.set_item(std::move(items[i]), std::move(items[i + 1]));
    }
  }

  static const PickleList& arguments_of(const PickleValue& args, const std::string& callable) {
    if (args.kind() != PickleValue::Kind::Tuple) {
      throw PickleError("arguments of " + callable + " are a " + args.kind_name() + ", expected a tuple");
    }
    return args.as_list();
  }

  // Calls `callable` with `args`, for the callables we model; anything else
  // becomes an opaque Object, except tensor kinds we cannot read.
  PickleValue reduce(const PickleValue& callable, const PickleValue& args) {
    if (callable.kind() != PickleValue::Kind::Global) {
      return PickleValue::from_object(callable.repr(), args);
    }
    const std::string& name = callable.as_global();
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      return PickleValue::from_tensor(rebuild_tensor(arguments_of(args, name)));
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      const PickleList& a = arguments_of(args, name);
      if (a.empty() || a[0].kind() != PickleValue::Kind::Tensor) {
        throw PickleError(name + " without a tensor");
      }
      return a[0];
    }
    if (name == "torch._tensor._rebuild_from_type_v2") {
      // (function, type, arguments, state): a tensor of class `type`.
      const PickleList& a = arguments_of(args, name);
      if (a.size() < 3) {
        throw PickleError(name + " with too few arguments");
      }
      const std::string type = a[1].kind() == PickleValue::Kind::Global ? a[1].as_global() : a[1].repr();
      if (type != "torch.Tensor" && type != "torch.nn.parameter.Parameter") {
        throw PickleError("unsupported tensor class " + type);
      }
      return reduce(a[0], a[2]);
    }
    if (name.rfind("torch._utils._rebuild_", 0) == 0 || name.rfind("torch._tensor._rebuild_", 0) == 0) {
      throw PickleError("unsupported tensor type (" + name + "): only dense CPU-loadable tensors are supported");
    }
    if (name == "collections.OrderedDict") {
      return ordered_dict(arguments_of(args, name));
    }
    if (name == "fractions.Fraction") {
      return PickleValue::from_fraction(fraction(arguments_of(args, name)));
    }
    if (name == "_codecs.encode") {
      const PickleList& a = arguments_of(args, name);
      if (a.size() == 2 && a[0].kind() == PickleValue::Kind::String && a[1].kind() == PickleValue::Kind::String &&
          (a[1].as_string() == "latin1" || a[1].as_string() == "latin-1")) {
        return PickleValue::from_bytes(latin1_from_utf8(a[0].as_string()));
      }
    }
    return PickleValue::from_object(name, args);
  }

  PickleValue new_object(const PickleValue& cls, const PickleValue& args) {
    if (cls.kind() == PickleValue::Kind::Global && cls.as_global() == "collections.OrderedDict") {
      return ordered_dict(arguments_of(args, "collections.OrderedDict"));
    }
    return PickleValue::from_object(cls.kind() == PickleValue::Kind::Global ? cls.as_global() : cls.repr(), args);
  }

  // OrderedDict() or OrderedDict([(key, value), ...]); pickles usually fill it with SETITEMS.
  static PickleValue ordered_dict(const PickleList& args) {
    PickleValue dict = PickleValue::from_dict({});
    if (args.empty()) {
      return dict;
    }
    if (args.size() != 1 || (args[0].kind() != PickleValue::Kind::List && args[0].kind() != PickleValue::Kind::Tuple)) {
      throw PickleError("OrderedDict of unsupported arguments");
    }
    for (const auto& pair : args[0].as_list()) {
      if ((pair.kind() != PickleValue::Kind::Tuple && pair.kind() != PickleValue::Kind::List) ||
          pair.as_list().size() != 2) {
        throw PickleError("OrderedDict item " + pair.repr() + " is not a (key, value) pair");
      }
      dict.set_item(pair.as_list()[0], pair.as_list()[1]);
    }
    return dict;
  }

  // Fraction('39/5') (Python <= 3.10 pickles the str()) or Fraction(39, 5) (Python >= 3.11).
  static Fraction fraction(const PickleList& args) {
    if (args.size() == 1 && args[0].kind() == PickleValue::Kind::String) {
      return parse_fraction(args[0].as_string());
    }
    if (args.size() == 1 && args[0].kind() == PickleValue::Kind::Int) {
      return normalized_fraction(args[0].as_int(), 1);
    }
    if (args.size() == 2 && args[0].kind() == PickleValue::Kind::Int && args[1].kind() == PickleValue::Kind::Int) {
      return normalized_fraction(args[0].as_int(), args[1].as_int());
    }
    throw PickleError("Fraction of unsupported arguments " + PickleValue::from_tuple(args).repr());
  }

  // BINPERSID of ('storage', torch.<Type>Storage, key, location, numel): a 1-D
  // tensor over the whole storage (location ignored: everything loads on CPU).
  PickleValue persistent_load(const PickleValue& id) {
    if (id.kind() != PickleValue::Kind::Tuple || id.as_list().size() < 5 ||
        id.as_list()[0].kind() != PickleValue::Kind::String || id.as_list()[0].as_string() != "storage") {
      throw PickleError("unsupported persistent id " + id.repr() +
                        ", expected ('storage', type, key, location, numel)");
    }
    const PickleList& fields = id.as_list();
    const std::string type = fields[1].kind() == PickleValue::Kind::Global ? fields[1].as_global() : fields[1].repr();
    const auto dtype = torch_storage_types().find(type);
    if (dtype == torch_storage_types().end()) {
      throw PickleError("unsupported storage type " + type);
    }
    std::string key;
    if (fields[2].kind() == PickleValue::Kind::String) {
      key = fields[2].as_string();
    } else if (fields[2].kind() == PickleValue::Kind::Int) {
      key = std::to_string(fields[2].as_int());
    } else {
      throw PickleError("storage key " + fields[2].repr() + " is not a string");
    }
    if (fields[4].kind() != PickleValue::Kind::Int || fields[4].as_int() < 0) {
      throw PickleError("storage element count " + fields[4].repr() + " is not a count");
    }
    const int64_t numel = fields[4].as_int();
    const auto item_size = static_cast<int64_t>(c10::elementSize(dtype->second));
    int64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, item_size, &nbytes)) {
      throw PickleError("storage of " + std::to_string(numel) + " elements is too large");
    }

    auto cached = storage_cache_.find(key);
    if (cached == storage_cache_.end()) {
      StorageRecord record = storages_(key);
      const size_t size = record.size;
      cached = storage_cache_
                   .emplace(key, c10::Storage(c10::Storage::use_byte_size_t(), size, std::move(record.data),
                                              nullptr, false))
                   .first;
    }
    const c10::Storage& storage = cached->second;
    if (static_cast<uint64_t>(nbytes) > storage.nbytes()) {
      throw PickleError("storage '" + key + "' (" + type + ") of " + std::to_string(numel) + " elements needs " +
                        std::to_string(nbytes) + " bytes, its record has " + std::to_string(storage.nbytes()));
    }
    at::Tensor whole = at::empty({0}, at::TensorOptions().dtype(dtype->second));
    whole.set_(storage, 0, {numel}, {1});
    return PickleValue::from_tensor(whole);
  }

  ByteCursor cursor_;
  const StorageRecordSource& storages_;
  std::vector<PickleValue> stack_;
  std::vector<size_t> marks_;  // stack sizes at each open MARK
  std::unordered_map<uint64_t, PickleValue> memo_;
  std::map<std::string, c10::Storage> storage_cache_;
  size_t opcode_offset_ = 0;
  uint8_t opcode_ = 0;
};

}  // namespace

PickleValue read_pickle(const void* data, size_t size, const StorageRecordSource& storages) {
  return Unpickler(data, size, storages).run();
}

}  // namespace demucs
