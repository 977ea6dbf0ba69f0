// The unpickler on hand-made pickles: each opcode family, the classes it
// models, tensors over shared storages, and damaged input.
#include "checkpoint/pickle_reader.h"
#include "support/checkpoint_rewriter.h"

#include <ATen/ATen.h>
#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>

namespace demucs {
namespace {

using testing::pickled_float;
using testing::pickled_global;
using testing::pickled_int;
using testing::pickled_int_tuple;
using testing::pickled_string;

// Storage records held in memory, counting how often each is fetched.
class MemoryStorages {
 public:
  void add_floats(const std::string& key, const std::vector<float>& values) {
    std::string bytes(values.size() * sizeof(float), '\0');
    std::memcpy(bytes.data(), values.data(), bytes.size());
    records_[key] = bytes;
  }

  StorageRecordSource source() {
    return [this](const std::string& key) {
      ++fetches_[key];
      const std::string& bytes = records_.at(key);
      at::DataPtr data = c10::GetCPUAllocator()->allocate(bytes.size());
      std::memcpy(data.get(), bytes.data(), bytes.size());
      return StorageRecord{std::move(data), bytes.size()};
    };
  }

  int fetches(const std::string& key) const { return fetches_.count(key) ? fetches_.at(key) : 0; }

 private:
  std::map<std::string, std::string> records_;
  std::map<std::string, int> fetches_;
};

PickleValue unpickle(const std::string& body, const StorageRecordSource& storages = {}) {
  const std::string pickle = testing::pickled_protocol_header() + body + testing::pickled_stop();
  return read_pickle(pickle.data(), pickle.size(), storages);
}

// The PickleError message for a pickle body ("" if it loads).
std::string pickle_error(const std::string& body, const StorageRecordSource& storages = {}) {
  try {
    unpickle(body, storages);
  } catch (const PickleError& e) {
    return e.what();
  }
  return "";
}

// A torch.save tensor: _rebuild_tensor_v2(storage key, offset, size, stride).
std::string pickled_tensor(const std::string& storage_type, const std::string& key, int64_t storage_numel,
                           int64_t offset, const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides,
                           const std::string& rebuild = "_rebuild_tensor_v2") {
  const std::string persistent_id = "(" + pickled_string("storage") + pickled_global("torch", storage_type) +
                                    pickled_string(key) + pickled_string("cpu") + pickled_int(storage_numel) + "tQ";
  const std::string hooks = pickled_global("collections", "OrderedDict") + ")R";
  return pickled_global("torch._utils", rebuild) + "(" + persistent_id + pickled_int(offset) +
         pickled_int_tuple(sizes) + pickled_int_tuple(strides) + "\x89" + hooks + "tR";
}

TEST(PickleReader, Scalars) {
  EXPECT_TRUE(unpickle("N").is_none());
  EXPECT_TRUE(unpickle("\x88").as_bool());
  EXPECT_FALSE(unpickle("\x89").as_bool());
  EXPECT_EQ(unpickle(pickled_int(200)).as_int(), 200);
  EXPECT_EQ(unpickle(pickled_int(44100)).as_int(), 44100);
  EXPECT_EQ(unpickle(pickled_int(-5)).as_int(), -5);
  EXPECT_EQ(unpickle(pickled_int(-(int64_t{1} << 40))).as_int(), -(int64_t{1} << 40));
  EXPECT_EQ(unpickle(std::string("\x8a\x02\xd4\xfe", 4)).as_int(), -300);  // LONG1, 2 bytes
  EXPECT_EQ(unpickle(std::string("\x8a\x00", 2)).as_int(), 0);
  EXPECT_EQ(unpickle(std::string("\x8b\x01\x00\x00\x00\x7f", 6)).as_int(), 127);  // LONG4
  EXPECT_EQ(unpickle(pickled_float(0.1)).as_double(), 0.1);
  EXPECT_EQ(unpickle(pickled_string("h\xc3\xa9llo")).as_string(), "h\xc3\xa9llo");
  EXPECT_EQ(unpickle(std::string("\x8c\x02hi", 4)).as_string(), "hi");  // SHORT_BINUNICODE
  EXPECT_EQ(unpickle(std::string("\x8d\x02\0\0\0\0\0\0\0hi", 11)).as_string(), "hi");  // BINUNICODE8
  EXPECT_EQ(unpickle(std::string("C\x03\x00\x01\x02", 5)).as_bytes(), std::string("\x00\x01\x02", 3));
  EXPECT_EQ(unpickle(std::string("B\x01\0\0\0z", 6)).as_bytes(), "z");
  // Protocol 2 pickles bytes objects as _codecs.encode(text, 'latin1').
  EXPECT_EQ(unpickle(pickled_global("_codecs", "encode") + pickled_string("\xc3\xbf" "a") + pickled_string("latin1") +
                     "\x86R")
                .as_bytes(),
            "\xff" "a");
}

TEST(PickleReader, Containers) {
  EXPECT_EQ(unpickle("(" + pickled_int(1) + pickled_string("a") + "N\x88t").repr(), "(1, 'a', None, True)");
  EXPECT_EQ(unpickle(")").repr(), "()");
  EXPECT_EQ(unpickle(pickled_int(1) + "\x85").repr(), "(1,)");
  EXPECT_EQ(unpickle(pickled_int(1) + pickled_int(2) + "\x86").repr(), "(1, 2)");
  EXPECT_EQ(unpickle(pickled_int(1) + pickled_int(2) + pickled_int(3) + "\x87").repr(), "(1, 2, 3)");
  EXPECT_EQ(unpickle("](" + pickled_int(1) + pickled_int(2) + "e" + pickled_int(3) + "a").repr(), "[1, 2, 3]");
  EXPECT_EQ(unpickle("(" + pickled_int(1) + "l").repr(), "[1]");
  EXPECT_EQ(unpickle("}(" + pickled_string("a") + pickled_int(1) + pickled_string("b") + "]u" +
                     pickled_string("c") + "Ns")
                .repr(),
            "{'a': 1, 'b': [], 'c': None}");
  EXPECT_EQ(unpickle("(" + pickled_string("k") + pickled_float(1.5) + "d").repr(), "{'k': 1.5}");
  // A repeated key keeps the last value, as in Python.
  EXPECT_EQ(unpickle("}(" + pickled_string("a") + pickled_int(1) + pickled_string("a") + pickled_int(2) + "u").repr(),
            "{'a': 2}");
  EXPECT_EQ(unpickle("(" + pickled_int(7) + "0" + pickled_int(8) + "1" + pickled_int(9) + "2\x86").repr(), "(9, 9)");
}

TEST(PickleReader, MemoSharesContainers) {
  // A list stored in the memo, fetched again and appended to afterwards: both references see it.
  const PickleValue v = unpickle("]q\x05(h\x05h\x05tq\x06" "0" + pickled_string("x") + "q\x07" "0h\x05" +
                                 pickled_int(4) + "ah\x06" "0h\x06\x85" + std::string("0j\x07\x00\x00\x00", 6) + "0h\x06");
  EXPECT_EQ(v.repr(), "([4], [4])");
  // MEMOIZE (protocol 4) stores under the next index.
  EXPECT_EQ(unpickle(pickled_string("m") + std::string("\x94" "0h\x00", 4)).as_string(), "m");
  EXPECT_EQ(pickle_error("h\x09"), "pickle byte 2 (BINGET): memo entry 9 was never stored");
}

TEST(PickleReader, Globals) {
  const PickleValue v = unpickle(pickled_global("demucs.htdemucs", "HTDemucs"));
  EXPECT_EQ(v.kind(), PickleValue::Kind::Global);
  EXPECT_EQ(v.as_global(), "demucs.htdemucs.HTDemucs");
  EXPECT_EQ(unpickle(pickled_string("torch") + pickled_string("float16") + "\x93").as_global(), "torch.float16");
}

TEST(PickleReader, Fractions) {
  const std::string fraction = pickled_global("fractions", "Fraction");
  // Python >= 3.11 pickles (numerator, denominator), as in the fixtures; older ones the str().
  const Fraction two = unpickle(fraction + pickled_int(2) + pickled_int(1) + "\x86R").as_fraction();
  EXPECT_EQ(two.numerator, 2);
  EXPECT_EQ(two.denominator, 1);
  const Fraction text = unpickle(fraction + pickled_string("39/5") + "\x85R").as_fraction();
  EXPECT_EQ(text.numerator, 39);
  EXPECT_EQ(text.denominator, 5);
  EXPECT_EQ(unpickle(fraction + pickled_string("-7") + "\x85R").as_fraction().numerator, -7);
  const Fraction normalised = unpickle(fraction + pickled_int(4) + pickled_int(-6) + "\x86R").as_fraction();
  EXPECT_EQ(normalised.numerator, -2);
  EXPECT_EQ(normalised.denominator, 3);
  EXPECT_EQ(unpickle(fraction + pickled_string("39/5") + "\x85R").as_double(), 7.8);
  EXPECT_EQ(pickle_error(fraction + pickled_int(1) + pickled_int(0) + "\x86R"),
            "pickle byte 27 (REDUCE): Fraction with denominator 0");
  EXPECT_EQ(pickle_error(fraction + pickled_string("1.5x") + "\x85R"),
            "pickle byte 32 (REDUCE): cannot read Fraction('1.5x')");
}

TEST(PickleReader, OrderedDict) {
  const std::string ordered_dict = pickled_global("collections", "OrderedDict");
  EXPECT_EQ(unpickle(ordered_dict + ")R(" + pickled_string("b") + pickled_int(2) + pickled_string("a") +
                     pickled_int(1) + "u")
                .repr(),
            "{'b': 2, 'a': 1}");
  EXPECT_EQ(unpickle(ordered_dict + "]" + pickled_string("z") + pickled_int(0) + "\x86" + "a\x85R").repr(),
            "{'z': 0}");
  EXPECT_EQ(unpickle(ordered_dict + ")\x81").repr(), "{}");  // NEWOBJ
}

TEST(PickleReader, UnknownClassesStayOpaque) {
  const PickleValue reduced = unpickle(pickled_global("argparse", "Namespace") + ")R}" + pickled_string("lr") +
                                       pickled_float(0.5) + "sb");
  EXPECT_EQ(reduced.kind(), PickleValue::Kind::Object);
  EXPECT_EQ(reduced.object_class(), "argparse.Namespace");
  EXPECT_TRUE(reduced.object_arguments().as_list().empty());
  EXPECT_EQ(reduced.object_state().find("lr")->as_double(), 0.5);
  EXPECT_EQ(reduced.repr(), "argparse.Namespace() with state {'lr': 0.5}");

  const PickleValue constructed = unpickle(pickled_global("pathlib", "PosixPath") + pickled_string("/a") + "\x85\x81");
  EXPECT_EQ(constructed.repr(), "pathlib.PosixPath('/a')");
  EXPECT_THROW(constructed.as_dict(), std::runtime_error);
}

TEST(PickleReader, TensorsShareTheirStorage) {
  MemoryStorages storages;
  storages.add_floats("0", {0, 1, 2, 3, 4, 5});
  // {'a': tensor (2, 3) over the whole storage, 'b': its elements 1, 3, 5}
  const PickleValue v =
      unpickle("}(" + pickled_string("a") + pickled_tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1}) +
                   pickled_string("b") + pickled_tensor("FloatStorage", "0", 6, 1, {3}, {2}) + "u",
               storages.source());
  const at::Tensor a = v.find("a")->as_tensor();
  const at::Tensor b = v.find("b")->as_tensor();
  EXPECT_EQ(a.scalar_type(), at::kFloat);
  EXPECT_EQ(a.sizes(), (at::IntArrayRef{2, 3}));
  EXPECT_EQ(a[1][2].item<float>(), 5.0f);
  EXPECT_EQ(b.sizes(), (at::IntArrayRef{3}));
  EXPECT_EQ(b.strides(), (at::IntArrayRef{2}));
  EXPECT_EQ(b.storage_offset(), 1);
  EXPECT_TRUE(at::equal(b, at::tensor({1.0f, 3.0f, 5.0f})));
  EXPECT_EQ(a.storage().data(), b.storage().data());
  EXPECT_EQ(storages.fetches("0"), 1);
  EXPECT_EQ(v.find("a")->repr(), "tensor(Float, [2, 3])");
}

TEST(PickleReader, TensorDtypesAndWrappers) {
  MemoryStorages storages;
  storages.add_floats("k", {1.5f, -2.0f});
  // The same 8 bytes read as 4 halfs, 8 bytes, 1 double, 2 int32.
  EXPECT_EQ(unpickle(pickled_tensor("HalfStorage", "k", 4, 0, {4}, {1}), storages.source()).as_tensor().scalar_type(),
            at::kHalf);
  EXPECT_EQ(unpickle(pickled_tensor("ByteStorage", "k", 8, 0, {8}, {1}), storages.source()).as_tensor().numel(), 8);
  EXPECT_EQ(
      unpickle(pickled_tensor("DoubleStorage", "k", 1, 0, {}, {}), storages.source()).as_tensor().scalar_type(),
      at::kDouble);
  EXPECT_EQ(unpickle(pickled_tensor("IntStorage", "k", 2, 1, {1}, {1}), storages.source()).as_tensor().item<int>(),
            -1073741824);  // the bits of -2.0f
  EXPECT_EQ(unpickle(pickled_tensor("FloatStorage", "k", 2, 0, {2}, {1}, "_rebuild_tensor"), storages.source())
                .as_tensor()[1]
                .item<float>(),
            -2.0f);
  // An nn.Parameter: _rebuild_parameter(tensor, requires_grad, hooks).
  const PickleValue parameter =
      unpickle(pickled_global("torch._utils", "_rebuild_parameter") + "(" +
                   pickled_tensor("FloatStorage", "k", 2, 0, {2}, {1}) + "\x88" +
                   pickled_global("collections", "OrderedDict") + ")Rt" + "R",
               storages.source());
  EXPECT_TRUE(at::equal(parameter.as_tensor(), at::tensor({1.5f, -2.0f})));
  // Empty tensors need no storage bytes, whatever their strides.
  EXPECT_EQ(unpickle(pickled_tensor("FloatStorage", "k", 0, 0, {0, 5}, {5, 1}), storages.source()).as_tensor().numel(),
            0);
}

TEST(PickleReader, TensorErrors) {
  MemoryStorages storages;
  storages.add_floats("k", {1, 2, 3, 4});
  const auto error = [&](const std::string& body) { return pickle_error(body, storages.source()); };
  EXPECT_NE(error(pickled_tensor("FloatStorage", "k", 4, 1, {2, 2}, {2, 1}))
                .find("(REDUCE): tensor with size (2, 2), stride (2, 1), offset 1 reaches outside its storage of 4 "
                      "elements"),
            std::string::npos);
  EXPECT_NE(error(pickled_tensor("FloatStorage", "k", 4, 0, {2}, {1, 1})).find("size and stride differ in length"),
            std::string::npos);
  EXPECT_NE(error(pickled_tensor("FloatStorage", "k", 4, 0, {1 << 30, 1 << 30, 1 << 30}, {1 << 30, 1 << 30, 1}))
                .find("reaches outside its storage"),
            std::string::npos);
  EXPECT_NE(error(pickled_tensor("FloatStorage", "k", 5, 0, {1}, {1}))
                .find("(BINPERSID): storage 'k' (torch.FloatStorage) of 5 elements needs 20 bytes, its record has 16"),
            std::string::npos);
  EXPECT_NE(error(pickled_tensor("QUInt8Storage", "k", 4, 0, {1}, {1}))
                .find("(BINPERSID): unsupported storage type torch.QUInt8Storage"),
            std::string::npos);
  EXPECT_NE(error(pickled_tensor("FloatStorage", "k", 4, 0, {1}, {1}, "_rebuild_sparse_tensor"))
                .find("(REDUCE): unsupported tensor type (torch._utils._rebuild_sparse_tensor)"),
            std::string::npos);
  EXPECT_NE(error("(" + pickled_string("module") + "tQ").find("(BINPERSID): unsupported persistent id ('module',)"),
            std::string::npos);
}

TEST(PickleReader, MalformedPickles) {
  EXPECT_EQ(pickle_error("Z"), "pickle byte 2 (?): unsupported pickle opcode 0x5a");
  EXPECT_EQ(pickle_error("a"), "pickle byte 2 (APPEND): stack underflow");
  EXPECT_EQ(pickle_error("(" + pickled_int(1) + "(" + "a"), "pickle byte 6 (APPEND): stack underflow");
  EXPECT_EQ(pickle_error("t"), "pickle byte 2 (TUPLE): no MARK to pop to");
  EXPECT_EQ(pickle_error(pickled_int(1) + pickled_int(2) + "a"), "pickle byte 6 (APPEND): APPEND to a int");
  EXPECT_EQ(pickle_error("}(" + pickled_int(1) + "u"), "pickle byte 6 (SETITEMS): SETITEMS with an odd number of items");
  EXPECT_EQ(pickle_error(std::string("\x8a\x09", 2) + std::string(9, '\x01')),
            "pickle byte 2 (LONG1): integer of 9 bytes does not fit 64 bits");
  EXPECT_EQ(pickle_error(std::string("\x80\x06", 2)), "pickle byte 2 (PROTO): unsupported pickle protocol 6");
  const std::string no_stop = testing::pickled_protocol_header() + pickled_int(1);
  try {
    read_pickle(no_stop.data(), no_stop.size(), {});
    FAIL() << "no PickleError";
  } catch (const PickleError& e) {
    EXPECT_EQ(std::string(e.what()), "the pickle ends before its STOP opcode (truncated?) at byte 4");
  }
}

TEST(PickleReader, EveryTruncationIsAnError) {
  MemoryStorages storages;
  storages.add_floats("0", {1, 2, 3, 4, 5, 6});
  const std::string pickle =
      testing::pickled_protocol_header() + std::string("}q\x00(", 4) + pickled_string("t") + "q\x01" +
      pickled_tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1}) + pickled_string("g") +
      pickled_global("fractions", "Fraction") + pickled_int(2) + pickled_int(1) + "\x86R" + pickled_string("x") +
      std::string("X\x00\x01\x00\x00", 5) + std::string(256, 'y') + pickled_string("f") + pickled_float(1.0) + "u.";
  EXPECT_EQ(read_pickle(pickle.data(), pickle.size(), storages.source()).as_dict().size(), 4u);
  for (size_t size = 0; size < pickle.size(); ++size) {
    const std::string prefix = pickle.substr(0, size);
    EXPECT_THROW(read_pickle(prefix.data(), prefix.size(), storages.source()), PickleError) << size;
  }
}

TEST(PickleReader, CorruptBytesNeverCrash) {
  // Every single-byte change of a small tensor pickle either loads or throws PickleError.
  MemoryStorages storages;
  storages.add_floats("0", {1, 2, 3, 4, 5, 6});
  const std::string pickle = testing::pickled_protocol_header() +
                             pickled_tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1}) + testing::pickled_stop();
  int loaded = 0;
  int failed = 0;
  for (size_t at = 0; at < pickle.size(); ++at) {
    for (const int value : {0x00, 0x01, 0x7f, 0x80, 0xff, int{'X'}, int{'('}, int{'t'}, int{'R'}, int{'Q'}, int{'0'}, int{'h'}}) {
      std::string corrupt = pickle;
      corrupt[at] = static_cast<char>(value);
      try {
        read_pickle(corrupt.data(), corrupt.size(), storages.source());
        ++loaded;
      } catch (const PickleError&) {
        ++failed;
      } catch (const std::out_of_range&) {
        ++failed;  // MemoryStorages has no record under a corrupted key
      }
    }
  }
  EXPECT_GT(loaded, 0);
  EXPECT_GT(failed, 0);
  EXPECT_EQ(static_cast<size_t>(loaded + failed), pickle.size() * 12);
}

TEST(PickleValue, ReprAndAccessors) {
  EXPECT_EQ(PickleValue::from_float(5000.0).repr(), "5000.0");
  EXPECT_EQ(PickleValue::from_float(1.4).repr(), "1.4");
  EXPECT_EQ(PickleValue::from_float(1e-05).repr(), "1e-05");
  EXPECT_EQ(PickleValue::from_float(1e16).repr(), "1e+16");
  EXPECT_EQ(PickleValue::from_float(-0.5).repr(), "-0.5");
  EXPECT_EQ(PickleValue::from_float(123456789.125).repr(), "123456789.125");
  EXPECT_EQ(PickleValue::from_string("it's\n").repr(), "'it\\'s\\n'");
  EXPECT_EQ(PickleValue::from_bytes(std::string("\x01z", 2)).repr(), "b'\\x01z'");
  EXPECT_EQ(PickleValue::from_fraction({39, 5}).repr(), "Fraction(39, 5)");
  EXPECT_EQ(PickleValue::from_int(3).as_fraction().denominator, 1);
  EXPECT_EQ(PickleValue::from_fraction({39, 5}).as_double(), 7.8);
  EXPECT_EQ(PickleValue::from_int(3).as_double(), 3.0);
  EXPECT_EQ(PickleValue::from_tuple({}).as_list().size(), 0u);
  EXPECT_EQ(PickleValue::from_int(1).find("x"), nullptr);
  try {
    PickleValue::from_string("8").as_int();
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "expected a int, got a str ('8')");
  }
  EXPECT_THROW(PickleValue::from_bool(true).as_int(), std::runtime_error);
  EXPECT_THROW(PickleValue::none().as_string(), std::runtime_error);
  EXPECT_THROW(PickleValue::from_list({}).as_tensor(), std::runtime_error);
  EXPECT_THROW(PickleValue::from_list({}).set_item(PickleValue::none(), PickleValue::none()), std::runtime_error);
  // Deeply nested values print with an ellipsis.
  const PickleValue nested = unpickle(std::string(50, ']') + std::string(49, 'a'));
  EXPECT_EQ(nested.repr(), std::string(33, '[') + "..." + std::string(33, ']'));
}

}  // namespace
}  // namespace demucs
