#include "support/checkpoint_rewriter.h"

#include "checkpoint/checkpoint_writer.h"
#include "checkpoint/pickle_opcodes.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <unordered_map>

namespace demucs::testing {

namespace {

using namespace demucs::pickle;  // the Opcode constants


// One opcode of a pickle: its bytes [begin, end) and, for strings, the text
// (for GLOBAL: "module\nname").
struct PickleOp {
  size_t begin = 0;
  size_t end = 0;
  uint8_t code = 0;
  bool is_string = false;
  std::string text;
  uint64_t memo_index = 0;  // BINPUT/LONG_BINPUT/BINGET/LONG_BINGET
};

uint64_t little_endian(const std::string& bytes, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  }
  return v;
}

// Splits a pickle into its opcodes, up to and including STOP.
std::vector<PickleOp> split_opcodes(const std::string& pickle) {
  std::vector<PickleOp> ops;
  size_t at = 0;
  const auto need = [&](size_t n) {
    if (n > pickle.size() - at) {
      throw std::runtime_error("checkpoint rewriter: the pickle is truncated at byte " + std::to_string(at));
    }
  };
  while (at < pickle.size()) {
    PickleOp op;
    op.begin = at;
    op.code = static_cast<uint8_t>(pickle[at]);
    ++at;
    size_t fixed = 0;
    size_t length_prefix = 0;
    switch (op.code) {
      case kProto: case kBinInt1: case kBinPut: case kBinGet:
        fixed = 1;
        break;
      case kBinInt2:
        fixed = 2;
        break;
      case kBinInt: case kLongBinPut: case kLongBinGet:
        fixed = 4;
        break;
      case kFrame: case kBinFloat:
        fixed = 8;
        break;
      case kLong1: case kShortBinUnicode: case kShortBinBytes: case kShortBinString:
        length_prefix = 1;
        break;
      case kLong4: case kBinUnicode: case kBinBytes: case kBinString:
        length_prefix = 4;
        break;
      case kBinUnicode8: case kBinBytes8:
        length_prefix = 8;
        break;
      case kGlobal: {
        for (int line = 0; line < 2; ++line) {
          const auto newline = pickle.find('\n', at);
          if (newline == std::string::npos) {
            throw std::runtime_error("checkpoint rewriter: truncated GLOBAL at byte " + std::to_string(op.begin));
          }
          op.text += (line == 0 ? "" : "\n") + pickle.substr(at, newline - at);
          at = newline + 1;
        }
        break;
      }
      case kMark: case kStop: case kPop: case kPopMark: case kDup: case kNone: case kBinPersId: case kReduce:
      case kEmptyList: case kAppend: case kBuild: case kDict: case kEmptyDict: case kAppends: case kList:
      case kSetItem: case kTuple: case kEmptyTuple: case kSetItems: case kNewObj: case kTuple1: case kTuple2:
      case kTuple3: case kNewTrue: case kNewFalse: case kEmptySet: case kAddItems: case kFrozenSet:
      case kNewObjEx: case kStackGlobal: case kMemoize:
        break;
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op.code);
        throw std::runtime_error(std::string("checkpoint rewriter: unsupported pickle opcode ") + hex + " at byte " +
                                 std::to_string(op.begin));
      }
    }
    need(fixed);
    if (op.code == kBinPut || op.code == kBinGet || op.code == kLongBinPut || op.code == kLongBinGet) {
      op.memo_index = little_endian(pickle, at, fixed);
    }
    at += fixed;
    if (length_prefix > 0) {
      need(length_prefix);
      const uint64_t length = little_endian(pickle, at, length_prefix);
      at += length_prefix;
      need(length);
      if (op.code == kShortBinUnicode || op.code == kBinUnicode || op.code == kBinUnicode8) {
        op.is_string = true;
        op.text = pickle.substr(at, length);
      }
      at += length;
    }
    op.end = at;
    ops.push_back(op);
    if (op.code == kStop) {
      break;
    }
  }
  return ops;
}

// A value on the modelled unpickling stack: where the opcodes that made it
// begin, and its text when it is a plain string.
struct StackEntry {
  size_t begin = 0;
  bool is_mark = false;
  bool is_string = false;
  std::string text;

  static StackEntry value_at(size_t begin) {
    StackEntry entry;
    entry.begin = begin;
    return entry;
  }
  static StackEntry mark_at(size_t begin) {
    StackEntry entry = value_at(begin);
    entry.is_mark = true;
    return entry;
  }
};

// The values an opcode took off the stack as a group: the items of a
// SETITEM(S)/DICT (key, value, key, value...) or of a TUPLE/LIST. Item i's
// opcodes span [begin[i], begin[i + 1]), the last one's up to `op`.
struct ConsumedGroup {
  PickleOp op;
  size_t mark_begin = 0;  // the MARK's offset, for groups that pop to a MARK
  std::vector<StackEntry> items;
  size_t item_end(size_t i) const { return i + 1 < items.size() ? items[i + 1].begin : op.begin; }
};

// Runs the stack effects of every opcode (no values) and lists the groups
// of values consumed by dict and tuple opcodes, in the order they complete.
std::vector<ConsumedGroup> consumed_groups(const std::vector<PickleOp>& ops) {
  std::vector<StackEntry> stack;
  std::unordered_map<uint64_t, StackEntry> memo;
  std::vector<ConsumedGroup> groups;
  const auto fail = [](const PickleOp& op, const char* why) {
    throw std::runtime_error(std::string("checkpoint rewriter: ") + why + " at byte " + std::to_string(op.begin));
  };
  const auto pop_n = [&](const PickleOp& op, size_t n) {
    if (stack.size() < n) {
      fail(op, "stack underflow");
    }
    std::vector<StackEntry> popped(stack.end() - static_cast<std::ptrdiff_t>(n), stack.end());
    stack.resize(stack.size() - n);
    return popped;
  };
  const auto pop_to_mark = [&](const PickleOp& op, ConsumedGroup& group) {
    size_t mark = stack.size();
    while (mark > 0 && !stack[mark - 1].is_mark) {
      --mark;
    }
    if (mark == 0) {
      fail(op, "no MARK");
    }
    group.op = op;
    group.mark_begin = stack[mark - 1].begin;
    group.items.assign(stack.begin() + static_cast<std::ptrdiff_t>(mark), stack.end());
    stack.resize(mark - 1);
  };
  // Replaces the top n entries by one value made from them.
  const auto combine = [&](const PickleOp& op, size_t n) {
    const auto popped = pop_n(op, n);
    stack.push_back(StackEntry::value_at(popped.empty() ? op.begin : popped.front().begin));
  };

  for (const PickleOp& op : ops) {
    switch (op.code) {
      case kProto: case kFrame:
        break;
      case kMark:
        stack.push_back(StackEntry::mark_at(op.begin));
        break;
      case kStop: case kPop:
        pop_n(op, 1);
        break;
      case kPopMark: {
        ConsumedGroup ignored;
        pop_to_mark(op, ignored);
        break;
      }
      case kDup:
        if (stack.empty()) {
          fail(op, "stack underflow");
        }
        stack.push_back(stack.back());
        break;
      case kBinPut: case kLongBinPut: case kMemoize:
        if (stack.empty()) {
          fail(op, "stack underflow");
        }
        memo[op.code == kMemoize ? memo.size() : op.memo_index] = stack.back();
        break;
      case kBinGet: case kLongBinGet: {
        StackEntry entry;
        const auto it = memo.find(op.memo_index);
        if (it != memo.end()) {
          entry = it->second;
        }
        entry.begin = op.begin;
        entry.is_mark = false;
        stack.push_back(entry);
        break;
      }
      case kStackGlobal: case kReduce: case kNewObj: case kBuild: case kAppend:
        combine(op, 2);
        break;
      case kNewObjEx: case kTuple3:
        combine(op, 3);
        break;
      case kBinPersId: case kTuple1:
        combine(op, 1);
        break;
      case kTuple2:
        combine(op, 2);
        break;
      case kSetItem: {
        ConsumedGroup group;
        group.op = op;
        group.items = pop_n(op, 2);
        groups.push_back(group);
        combine(op, 1);  // the dict
        break;
      }
      case kTuple: case kList: case kDict: case kFrozenSet: {
        ConsumedGroup group;
        pop_to_mark(op, group);
        stack.push_back(StackEntry::value_at(group.mark_begin));
        groups.push_back(group);
        break;
      }
      case kSetItems: case kAppends: case kAddItems: {
        ConsumedGroup group;
        pop_to_mark(op, group);
        groups.push_back(group);
        break;
      }
      default: {
        StackEntry entry = StackEntry::value_at(op.begin);
        entry.is_string = op.is_string;
        entry.text = op.text;
        stack.push_back(entry);
        break;
      }
    }
  }
  return groups;
}

// A key/value pair of a dict in the pickle.
struct DictEntry {
  const ConsumedGroup* group = nullptr;
  size_t key_begin = 0;
  size_t value_begin = 0;
  size_t value_end = 0;
};

DictEntry find_entry(const std::vector<ConsumedGroup>& groups, const std::string& key) {
  for (const auto& group : groups) {
    if (group.op.code != kSetItems && group.op.code != kSetItem && group.op.code != kDict) {
      continue;
    }
    for (size_t i = 0; i + 1 < group.items.size(); i += 2) {
      if (group.items[i].is_string && group.items[i].text == key) {
        return DictEntry{&group, group.items[i].begin, group.items[i + 1].begin, group.item_end(i + 1)};
      }
    }
  }
  throw std::runtime_error("checkpoint rewriter: no dict entry with the key '" + key + "' in the pickle");
}

// Byte edits of the pickle, applied together (offsets refer to the original).
class PickleEdits {
 public:
  void replace(size_t begin, size_t end, std::string bytes) { edits_.push_back({begin, end, std::move(bytes)}); }
  void insert(size_t at, std::string bytes) { replace(at, at, std::move(bytes)); }

  std::string apply(const std::string& pickle) {
    std::stable_sort(edits_.begin(), edits_.end(), [](const Edit& a, const Edit& b) { return a.begin > b.begin; });
    std::string out = pickle;
    for (const auto& edit : edits_) {
      out.replace(edit.begin, edit.end - edit.begin, edit.bytes);
    }
    return out;
  }

 private:
  struct Edit {
    size_t begin;
    size_t end;
    std::string bytes;
  };
  std::vector<Edit> edits_;
};

// Removes FRAME opcodes (protocol 4 framing is optional), whose lengths the
// edits would make wrong.
std::string without_frames(const std::string& pickle) {
  PickleEdits edits;
  for (const auto& op : split_opcodes(pickle)) {
    if (op.code == kFrame) {
      edits.replace(op.begin, op.end, "");
    }
  }
  return edits.apply(pickle);
}

std::string string_opcode(uint8_t original_code, const std::string& text) {
  if (original_code == kShortBinUnicode && text.size() < 256) {
    return std::string(1, static_cast<char>(kShortBinUnicode)) + static_cast<char>(text.size()) + text;
  }
  return pickled_string(text);
}

std::pair<std::string, std::string> split_qualified_name(const std::string& qualified) {
  const auto dot = qualified.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == qualified.size()) {
    throw std::runtime_error("checkpoint rewriter: '" + qualified + "' is not a module.name");
  }
  return {qualified.substr(0, dot), qualified.substr(dot + 1)};
}

}  // namespace

CheckpointRewriter::CheckpointRewriter(const std::string& path) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    version_ = reader.version();
    for (const auto& name : reader.getAllRecords()) {
      auto [data, size] = reader.getRecord(name);
      names_.push_back(name);
      records_[name] = std::string(static_cast<const char*>(data.get()), size);
    }
  } catch (const c10::Error& e) {
    throw std::runtime_error("checkpoint rewriter: cannot read " + path + ": " + e.what_without_backtrace());
  }
}

bool CheckpointRewriter::has_record(const std::string& name) const {
  return records_.count(name) != 0;
}

const std::string& CheckpointRewriter::record(const std::string& name) const {
  const auto it = records_.find(name);
  if (it == records_.end()) {
    throw std::runtime_error("checkpoint rewriter: no record " + name);
  }
  return it->second;
}

void CheckpointRewriter::set_record(const std::string& name, std::string bytes) {
  if (!has_record(name)) {
    names_.push_back(name);
  }
  records_[name] = std::move(bytes);
}

void CheckpointRewriter::remove_record(const std::string& name) {
  if (records_.erase(name) == 0) {
    throw std::runtime_error("checkpoint rewriter: no record " + name + " to remove");
  }
  names_.erase(std::remove(names_.begin(), names_.end(), name), names_.end());
}

std::string& CheckpointRewriter::pickle() {
  const auto it = records_.find("data.pkl");
  if (it == records_.end()) {
    throw std::runtime_error("checkpoint rewriter: no data.pkl record");
  }
  it->second = without_frames(it->second);
  return it->second;
}

int CheckpointRewriter::replace_string(const std::string& from, const std::string& to) {
  std::string& bytes = pickle();
  PickleEdits edits;
  int count = 0;
  for (const auto& op : split_opcodes(bytes)) {
    if (op.is_string && op.text == from) {
      edits.replace(op.begin, op.end, string_opcode(op.code, to));
      ++count;
    }
  }
  if (count == 0) {
    throw std::runtime_error("checkpoint rewriter: no pickled string '" + from + "'");
  }
  bytes = edits.apply(bytes);
  return count;
}

void CheckpointRewriter::replace_global(const std::string& from, const std::string& to) {
  const auto [from_module, from_name] = split_qualified_name(from);
  const auto [to_module, to_name] = split_qualified_name(to);
  std::string& bytes = pickle();
  PickleEdits edits;
  bool found = false;
  for (const auto& op : split_opcodes(bytes)) {
    if (op.code == kGlobal && op.text == from_module + "\n" + from_name) {
      edits.replace(op.begin, op.end, pickled_global(to_module, to_name));
      found = true;
    }
  }
  if (!found) {
    throw std::runtime_error("checkpoint rewriter: no GLOBAL " + from + " in the pickle");
  }
  bytes = edits.apply(bytes);
}

void CheckpointRewriter::remove_entry(const std::string& key) {
  std::string& bytes = pickle();
  const auto groups = consumed_groups(split_opcodes(bytes));
  const DictEntry entry = find_entry(groups, key);
  const std::string pop_pair(2, static_cast<char>(kPop));
  PickleEdits edits;
  if (entry.group->op.code == kSetItem) {
    edits.replace(entry.group->op.begin, entry.group->op.end, pop_pair);
  } else {
    edits.insert(entry.value_end, pop_pair);
  }
  bytes = edits.apply(bytes);
}

void CheckpointRewriter::duplicate_entry(const std::string& key, const std::string& new_key) {
  std::string& bytes = pickle();
  const auto groups = consumed_groups(split_opcodes(bytes));
  const DictEntry entry = find_entry(groups, key);
  const std::string copy = pickled_string(new_key) + bytes.substr(entry.value_begin, entry.value_end - entry.value_begin);
  PickleEdits edits;
  if (entry.group->op.code == kSetItem) {
    // dict key value SETITEM -> dict MARK key value new_key value SETITEMS
    edits.insert(entry.key_begin, std::string(1, static_cast<char>(kMark)));
    edits.replace(entry.group->op.begin, entry.group->op.end, copy + static_cast<char>(kSetItems));
  } else {
    edits.insert(entry.value_end, copy);
  }
  bytes = edits.apply(bytes);
}

void CheckpointRewriter::set_entry_value(const std::string& key, const std::string& value_opcodes) {
  std::string& bytes = pickle();
  const auto groups = consumed_groups(split_opcodes(bytes));
  const DictEntry entry = find_entry(groups, key);
  // The old value's opcodes still run (later opcodes may use what they put in
  // the memo); its value is popped and the new one pushed.
  PickleEdits edits;
  edits.insert(entry.value_end, std::string(1, static_cast<char>(kPop)) + value_opcodes);
  bytes = edits.apply(bytes);
}

void CheckpointRewriter::set_tensor_shape(const std::string& key, const std::vector<int64_t>& sizes) {
  std::string& bytes = pickle();
  const auto groups = consumed_groups(split_opcodes(bytes));
  const DictEntry entry = find_entry(groups, key);
  // The argument tuple of _rebuild_tensor_v2 (storage, offset, size, stride, ...)
  // is the outermost MARK ... TUPLE inside the value.
  const ConsumedGroup* arguments = nullptr;
  for (const auto& group : groups) {
    if (group.op.code == kTuple && group.mark_begin >= entry.value_begin && group.op.end <= entry.value_end &&
        (arguments == nullptr || group.mark_begin < arguments->mark_begin)) {
      arguments = &group;
    }
  }
  if (arguments == nullptr || arguments->items.size() < 4) {
    throw std::runtime_error("checkpoint rewriter: the value of '" + key + "' is not a pickled tensor");
  }
  std::vector<int64_t> strides(sizes.size(), 1);
  for (size_t d = sizes.size(); d-- > 1;) {
    strides[d - 1] = strides[d] * std::max<int64_t>(sizes[d], 1);
  }
  const std::string pop(1, static_cast<char>(kPop));
  PickleEdits edits;
  edits.insert(arguments->item_end(2), pop + pickled_int_tuple(sizes));
  edits.insert(arguments->item_end(3), pop + pickled_int_tuple(strides));
  bytes = edits.apply(bytes);
}

void CheckpointRewriter::write(const std::string& path) const {
  std::vector<TorchSaveRecord> records;
  for (const auto& name : names_) {
    // PyTorchStreamWriter writes these itself.
    if (name == "version" || name == ".data/version" || name == ".data/serialization_id") {
      continue;
    }
    const std::string& bytes = records_.at(name);
    records.push_back({name, bytes.data(), bytes.size()});
  }
  write_torch_save_records(path, records, version_);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) {
    throw std::runtime_error("cannot write " + path);
  }
}

void write_truncated_copy(const std::string& from, const std::string& to, size_t size) {
  std::ifstream in(from, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + from);
  }
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<size_t>(in.gcount()) != size) {
    throw std::runtime_error(from + " is shorter than " + std::to_string(size) + " bytes");
  }
  write_file(to, bytes);
}

}  // namespace demucs::testing
