// Makes altered copies of torch.save files (Demucs checkpoints) for tests:
// renamed, removed, added or reshaped state tensors, another model class,
// other kwargs values, missing records, truncated files.
//
//   demucs::testing::CheckpointRewriter copy(test_data("htdemucs-tiny-4s.th"));
//   copy.remove_entry("encoder.0.conv.bias");            // a missing tensor
//   copy.duplicate_entry("encoder.0.conv.bias", "extra"); // an unexpected one
//   copy.set_tensor_shape("encoder.0.conv.weight", {8, 4, 4, 1});
//   copy.set_entry_value("depth", demucs::testing::pickled_string("four"));
//   copy.write(dir + "/altered.th");
//
// It reads every record with LibTorch's PyTorchStreamReader and writes them
// with the library's write_torch_save_records (archive folder "archive", as
// torch.save names it; the "version" record is written by LibTorch itself). Pickle edits work on the
// opcodes of data.pkl, so everything else in the file stays byte for byte.
// Every function throws std::runtime_error when it cannot do what it says.
#pragma once

#include "checkpoint/pickle_writer.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace demucs::testing {

class CheckpointRewriter {
 public:
  // Reads every record of the torch.save file `path`.
  explicit CheckpointRewriter(const std::string& path);

  // Record names without the archive folder: "data.pkl", "data/0", "version", ...
  const std::vector<std::string>& record_names() const { return names_; }
  bool has_record(const std::string& name) const;
  const std::string& record(const std::string& name) const;
  // Adds or replaces a record (for example "data.pkl" with a pickle of your own).
  void set_record(const std::string& name, std::string bytes);
  void remove_record(const std::string& name);

  // --- Edits of the pickle (data.pkl) ---

  // Replaces every pickled string (SHORT_BINUNICODE, BINUNICODE, BINUNICODE8)
  // equal to `from` by `to`, fixing the length prefix. Returns how many.
  // Renaming a state key this way makes one tensor missing and one unexpected.
  int replace_string(const std::string& from, const std::string& to);

  // Replaces the class or function reference `from` by `to`, both
  // "module.name" split at the last dot (a GLOBAL opcode's module and name
  // lines), e.g. "demucs.htdemucs.HTDemucs" -> "demucs.hdemucs.HDemucs".
  void replace_global(const std::string& from, const std::string& to);

  // The dict edits below act on the first dict entry (of any dict: kwargs,
  // state, ...) whose key is the string `key`.

  // Leaves the entry out of its dict (its opcodes stay and are popped, so the
  // pickle's memo is unchanged).
  void remove_entry(const std::string& key);
  // Adds a copy of the entry under `new_key`, right after it (a tensor copy
  // shares the original's storage record).
  void duplicate_entry(const std::string& key, const std::string& new_key);
  // Replaces the entry's value by `value_opcodes`, pickle opcodes that push
  // exactly one value (see the pickled_* functions below).
  void set_entry_value(const std::string& key, const std::string& value_opcodes);
  // Gives the tensor under `key` the shape `sizes` with contiguous strides,
  // same storage and offset. Keep sizes within the storage for a tensor that
  // loads; larger ones make a tensor that reaches outside its storage.
  void set_tensor_shape(const std::string& key, const std::vector<int64_t>& sizes);

  // Writes the archive to `path` (a torch.save file that torch.load reads).
  void write(const std::string& path) const;

 private:
  std::string& pickle();

  std::vector<std::string> names_;  // in the original order
  std::map<std::string, std::string> records_;
  uint64_t version_ = 0;
};

// Pickle opcodes (protocol 2) that push one value, for set_entry_value and
// for writing small pickles (end them with pickled_stop()): the library's
// pickle writer's, here for the tests' convenience.
using pickle::pickled_bool;
using pickle::pickled_float;
using pickle::pickled_global;
using pickle::pickled_int;
using pickle::pickled_int_tuple;
using pickle::pickled_none;
using pickle::pickled_protocol_header;  // PROTO 2, to start a pickle
using pickle::pickled_stop;             // STOP, to end a pickle
using pickle::pickled_string;

// Writes `bytes` to `path`.
void write_file(const std::string& path, const std::string& bytes);

// Copies the first `size` bytes of the file `from` into the file `to` (a truncated file).
void write_truncated_copy(const std::string& from, const std::string& to, size_t size);

}  // namespace demucs::testing
