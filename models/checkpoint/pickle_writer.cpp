#include "checkpoint/pickle_writer.h"

#include "checkpoint/pickle_opcodes.h"
#include "checkpoint/torch_storage_types.h"

#include <ATen/ATen.h>

#include <cstring>
#include <map>
#include <stdexcept>

namespace demucs {

namespace pickle {

namespace {

std::string opcode(Opcode code) { return std::string(1, static_cast<char>(code)); }

std::string little_endian_bytes(uint64_t v, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  return out;
}

}  // namespace

std::string pickled_none() { return opcode(kNone); }

std::string pickled_bool(bool value) { return opcode(value ? kNewTrue : kNewFalse); }

std::string pickled_int(int64_t value) {
  if (value >= 0 && value < 256) {
    return opcode(kBinInt1) + static_cast<char>(value);
  }
  if (value >= 0 && value < 65536) {
    return opcode(kBinInt2) + little_endian_bytes(static_cast<uint64_t>(value), 2);
  }
  if (value >= INT32_MIN && value <= INT32_MAX) {
    return opcode(kBinInt) + little_endian_bytes(static_cast<uint64_t>(value), 4);
  }
  return opcode(kLong1) + static_cast<char>(8) + little_endian_bytes(static_cast<uint64_t>(value), 8);
}

std::string pickled_float(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  std::string out = opcode(kBinFloat);
  for (int i = 7; i >= 0; --i) {
    out += static_cast<char>((bits >> (8 * i)) & 0xff);
  }
  return out;
}

std::string pickled_string(const std::string& value) {
  return opcode(kBinUnicode) + little_endian_bytes(value.size(), 4) + value;
}

std::string pickled_int_tuple(const std::vector<int64_t>& values) {
  std::string items;
  for (const int64_t v : values) {
    items += pickled_int(v);
  }
  switch (values.size()) {
    case 0:
      return opcode(kEmptyTuple);
    case 1:
      return items + opcode(kTuple1);
    case 2:
      return items + opcode(kTuple2);
    case 3:
      return items + opcode(kTuple3);
    default:
      return opcode(kMark) + items + opcode(kTuple);
  }
}

std::string pickled_global(const std::string& module, const std::string& name) {
  return opcode(kGlobal) + module + "\n" + name + "\n";
}

std::string pickled_protocol_header() { return opcode(kProto) + static_cast<char>(2); }

std::string pickled_stop() { return opcode(kStop); }

}  // namespace pickle

namespace {

using namespace pickle;

// Python's pickler writes items of lists and dicts in batches of this many.
constexpr size_t kBatchSize = 1000;

class TorchPickler {
 public:
  TorchSavePickle finish(const PickleValue& root) {
    result_.pickle = pickled_protocol_header();
    write(root);
    result_.pickle += pickled_stop();
    return std::move(result_);
  }

 private:
  void write(const PickleValue& value) {
    std::string& out = result_.pickle;
    switch (value.kind()) {
      case PickleValue::Kind::None:
        out += pickled_none();
        break;
      case PickleValue::Kind::Bool:
        out += pickled_bool(value.as_bool());
        break;
      case PickleValue::Kind::Int:
        out += pickled_int(value.as_int());
        break;
      case PickleValue::Kind::Float:
        out += pickled_float(value.as_double());
        break;
      case PickleValue::Kind::String:
        out += pickled_string(value.as_string());
        break;
      case PickleValue::Kind::Tuple:
        write_tuple(value.as_list());
        break;
      case PickleValue::Kind::List:
        write_list(value.as_list());
        break;
      case PickleValue::Kind::Dict:
        write_dict(value.as_dict());
        break;
      case PickleValue::Kind::Fraction: {
        // Fraction.__reduce__ of Python <= 3.10: (Fraction, (str(self),)).
        const Fraction f = value.as_fraction();
        write_global("fractions.Fraction");
        out += pickled_string(std::to_string(f.numerator) +
                              (f.denominator == 1 ? "" : "/" + std::to_string(f.denominator)));
        out += static_cast<char>(kTuple1);
        out += static_cast<char>(kReduce);
        break;
      }
      case PickleValue::Kind::Global:
        write_global(value.as_global());
        break;
      case PickleValue::Kind::Tensor:
        write_tensor(value.as_tensor());
        break;
      case PickleValue::Kind::Bytes:
      case PickleValue::Kind::Object:
        throw std::invalid_argument(std::string("cannot pickle a ") + value.kind_name() + " value (" +
                                    value.repr() + ")");
    }
  }

  void write_tuple(const PickleList& items) {
    std::string& out = result_.pickle;
    static const Opcode small[] = {kEmptyTuple, kTuple1, kTuple2, kTuple3};
    if (items.size() > 3) {
      out += static_cast<char>(kMark);
    }
    for (const auto& item : items) {
      write(item);
    }
    out += static_cast<char>(items.size() <= 3 ? small[items.size()] : kTuple);
  }

  void write_list(const PickleList& items) {
    result_.pickle += static_cast<char>(kEmptyList);
    for (size_t begin = 0; begin < items.size(); begin += kBatchSize) {
      const size_t end = std::min(items.size(), begin + kBatchSize);
      if (end - begin == 1) {
        write(items[begin]);
        result_.pickle += static_cast<char>(kAppend);
        continue;
      }
      result_.pickle += static_cast<char>(kMark);
      for (size_t i = begin; i < end; ++i) {
        write(items[i]);
      }
      result_.pickle += static_cast<char>(kAppends);
    }
  }

  void write_dict(const PickleDict& items) {
    result_.pickle += static_cast<char>(kEmptyDict);
    for (size_t begin = 0; begin < items.size(); begin += kBatchSize) {
      const size_t end = std::min(items.size(), begin + kBatchSize);
      if (end - begin == 1) {
        write(items[begin].first);
        write(items[begin].second);
        result_.pickle += static_cast<char>(kSetItem);
        continue;
      }
      result_.pickle += static_cast<char>(kMark);
      for (size_t i = begin; i < end; ++i) {
        write(items[i].first);
        write(items[i].second);
      }
      result_.pickle += static_cast<char>(kSetItems);
    }
  }

  // GLOBAL once, BINPUT into the memo; BINGET afterwards.
  void write_global(const std::string& qualified_name) {
    std::string& out = result_.pickle;
    const auto known = memo_.find(qualified_name);
    if (known != memo_.end()) {
      out += memo_opcode(known->second, kBinGet, kLongBinGet);
      return;
    }
    const auto dot = qualified_name.rfind('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == qualified_name.size()) {
      throw std::invalid_argument("cannot pickle the class reference '" + qualified_name + "': not a module.name");
    }
    out += pickled_global(qualified_name.substr(0, dot), qualified_name.substr(dot + 1));
    const auto index = static_cast<uint32_t>(memo_.size());
    memo_[qualified_name] = index;
    out += memo_opcode(index, kBinPut, kLongBinPut);
  }

  static std::string memo_opcode(uint32_t index, Opcode short_form, Opcode long_form) {
    std::string out;
    if (index < 256) {
      out += static_cast<char>(short_form);
      out += static_cast<char>(index);
      return out;
    }
    out += static_cast<char>(long_form);
    for (int i = 0; i < 4; ++i) {
      out += static_cast<char>((index >> (8 * i)) & 0xff);
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks)
  void write_tensor(const at::Tensor& tensor) {
    const std::string storage_type = torch_storage_type(tensor.scalar_type());
    const at::Tensor stored = tensor.detach().to(at::kCPU).contiguous();
    const std::string key = std::to_string(result_.storages.size());
    result_.storages.push_back(stored);

    std::string& out = result_.pickle;
    write_global("torch._utils._rebuild_tensor_v2");
    out += static_cast<char>(kMark);
    out += static_cast<char>(kMark);
    out += pickled_string("storage");
    write_global(storage_type);
    out += pickled_string(key);
    out += pickled_string("cpu");
    out += pickled_int(stored.numel());
    out += static_cast<char>(kTuple);
    out += static_cast<char>(kBinPersId);
    out += pickled_int(0);
    out += pickled_int_tuple(stored.sizes().vec());
    out += pickled_int_tuple(stored.strides().vec());
    out += pickled_bool(false);
    write_global("collections.OrderedDict");
    out += static_cast<char>(kEmptyTuple);
    out += static_cast<char>(kReduce);
    out += static_cast<char>(kTuple);
    out += static_cast<char>(kReduce);
  }

  TorchSavePickle result_;
  std::map<std::string, uint32_t> memo_;
};

}  // namespace

TorchSavePickle pickle_for_torch_save(const PickleValue& root) { return TorchPickler().finish(root); }

}  // namespace demucs
