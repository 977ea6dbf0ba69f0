// Pickles values the way torch.save does (pickle protocol 2), the inverse of
// pickle_reader: the opcodes of single values, and whole pickles of a
// PickleValue whose tensors go to storage records, as torch.save stores them.
#pragma once

#include "checkpoint/pickle_value.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace demucs {

namespace pickle {

// Opcodes that push one value (protocol 2, as Python writes them: BININT1/
// BININT2/BININT/LONG1 for ints, big-endian BINFLOAT, BINUNICODE strings).
std::string pickled_none();
std::string pickled_bool(bool value);
std::string pickled_int(int64_t value);
std::string pickled_float(double value);
std::string pickled_string(const std::string& value);
std::string pickled_int_tuple(const std::vector<int64_t>& values);
// A class or function reference: GLOBAL "module\nname\n".
std::string pickled_global(const std::string& module, const std::string& name);
std::string pickled_protocol_header();  // PROTO 2, to start a pickle
std::string pickled_stop();             // STOP, to end a pickle

}  // namespace pickle

// A pickle for a torch.save archive: its data.pkl bytes and the storages its
// tensors refer to, storages[N] to be stored as the record "data/N".
struct TorchSavePickle {
  std::string pickle;
  std::vector<at::Tensor> storages;  // contiguous CPU tensors; their bytes are the records
};

// Pickles `root` as torch.save would: None, bools, ints, floats, strings,
// lists, tuples, dicts, fractions.Fraction (REDUCE of the string '39/5', as
// upstream's checkpoints hold it), class references and tensors (each its own
// storage, through torch._utils._rebuild_tensor_v2 and a persistent id
// ('storage', torch.<Type>Storage, 'N', 'cpu', numel); CUDA tensors are copied
// to the CPU). Class references are memoized. Throws std::invalid_argument for
// what it cannot write: bytes, opaque objects, tensors of types torch.save has
// no storage class for.
TorchSavePickle pickle_for_torch_save(const PickleValue& root);

}  // namespace demucs
