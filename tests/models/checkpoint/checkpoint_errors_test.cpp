// Damaged or unsupported files give a CheckpointError that names the file
// and the problem. Each file is made from a fixture in a scratch directory.
#include "checkpoint/checkpoint_reader.h"
#include "support/scratch_directory.h"
#include "support/checkpoint_rewriter.h"
#include "support/test_data.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace demucs {
namespace {

using testing::CheckpointRewriter;
using testing::ScratchDirectory;
using testing::test_data;

const std::string kFixture = "htdemucs-tiny-4s.th";

// The message of the CheckpointError that read_checkpoint(path) throws ("" if none).
std::string checkpoint_error(const std::string& path) {
  try {
    read_checkpoint(path);
  } catch (const CheckpointError& e) {
    return e.what();
  }
  ADD_FAILURE() << "read_checkpoint(" << path << ") did not throw a CheckpointError";
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

TEST(CheckpointErrors, MissingFile) {
  ScratchDirectory dir;
  const std::string path = dir.file("absent.th");
  const std::string message = checkpoint_error(path);
  EXPECT_EQ(message, path + ": no such file");
}

TEST(CheckpointErrors, Directory) {
  ScratchDirectory dir;
  const std::string message = checkpoint_error(dir.path());
  EXPECT_EQ(message, dir.path() + ": is a directory, not a checkpoint file");
}

TEST(CheckpointErrors, EmptyFile) {
  ScratchDirectory dir;
  const std::string path = dir.file("empty.th");
  testing::write_file(path, "");
  EXPECT_EQ(checkpoint_error(path), path + ": empty file, not a torch.save zip archive");
}

TEST(CheckpointErrors, NotAZipArchive) {
  ScratchDirectory dir;
  const std::string path = dir.file("text.th");
  testing::write_file(path, "this is not a checkpoint\n");
  EXPECT_EQ(checkpoint_error(path), path + ": not a zip archive (a torch.save file is one)");
}

TEST(CheckpointErrors, LegacyTorchSaveFile) {
  ScratchDirectory dir;
  const std::string path = dir.file("legacy.th");
  // Pre-1.6 torch.save files start with a pickled magic number.
  testing::write_file(path, testing::pickled_protocol_header() + "\x8a\x0alp\x1c\x95\xe8\x1bW\x19" +
                                testing::pickled_stop());
  const std::string message = checkpoint_error(path);
  EXPECT_CONTAINS(message, path + ": not a zip archive but a legacy (PyTorch < 1.6) torch.save file");
}

TEST(CheckpointErrors, TruncatedZipArchive) {
  ScratchDirectory dir;
  const std::string fixture = test_data(kFixture);
  const auto size = static_cast<size_t>(std::filesystem::file_size(fixture));
  for (const size_t kept : {size_t{4}, size_t{100}, size / 2, size - 1}) {
    const std::string path = dir.file("truncated-" + std::to_string(kept) + ".th");
    testing::write_truncated_copy(fixture, path, kept);
    const std::string message = checkpoint_error(path);
    EXPECT_EQ(message.rfind(path + ": truncated or damaged zip archive (it has no end of central directory: ", 0), 0u)
        << message;
  }
}

TEST(CheckpointErrors, ZipArchiveOfSomethingElse) {
  ScratchDirectory dir;
  const std::string copy = dir.file("copy.th");
  CheckpointRewriter(test_data(kFixture)).write(copy);
  // Same-length renames keep the zip valid: its records now sit at the top level.
  std::ifstream in(copy, std::ios::binary);
  std::string bytes(std::istreambuf_iterator<char>(in), {});
  for (auto at = bytes.find("archive/"); at != std::string::npos; at = bytes.find("archive/", at)) {
    bytes.replace(at, 8, "archive_");
  }
  const std::string path = dir.file("flat.zip");
  testing::write_file(path, bytes);
  const std::string message = checkpoint_error(path);
  EXPECT_CONTAINS(message, path + ": a zip archive but not a torch.save one (");
  EXPECT_CONTAINS(message, "file in archive is not in a subdirectory");
}

TEST(CheckpointErrors, ZipWithoutDataPkl) {
  ScratchDirectory dir;
  const std::string path = dir.file("no-pickle.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.remove_record("data.pkl");
  copy.write(path);
  EXPECT_EQ(checkpoint_error(path), path + ": the zip archive has no data.pkl record: not a torch.save file");
}

TEST(CheckpointErrors, MissingStorageRecord) {
  ScratchDirectory dir;
  const std::string path = dir.file("no-storage.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.remove_record("data/7");
  copy.write(path);
  EXPECT_EQ(checkpoint_error(path), path + ": the tensor storage record data/7 is missing from the archive");
}

TEST(CheckpointErrors, BigEndianTensors) {
  ScratchDirectory dir;
  CheckpointRewriter copy(test_data(kFixture));
  // PyTorch >= 2.0 adds a byteorder record.
  copy.set_record("byteorder", "little");
  copy.write(dir.file("little.th"));
  EXPECT_EQ(read_checkpoint(dir.file("little.th")).state.size(), 433u);
  copy.set_record("byteorder", "big");
  copy.write(dir.file("big.th"));
  EXPECT_EQ(checkpoint_error(dir.file("big.th")),
            dir.file("big.th") + ": tensors stored in 'big' byte order; only little-endian files are supported");
}

TEST(CheckpointErrors, TruncatedPickle) {
  ScratchDirectory dir;
  const std::string path = dir.file("short-pickle.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.set_record("data.pkl", copy.record("data.pkl").substr(0, 1000));
  copy.write(path);
  const std::string message = checkpoint_error(path);
  EXPECT_CONTAINS(message, path + ": cannot read data.pkl: ");
  EXPECT_CONTAINS(message, "truncated");
}

TEST(CheckpointErrors, PickleIsNotADict) {
  ScratchDirectory dir;
  const std::string path = dir.file("list.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.set_record("data.pkl", testing::pickled_protocol_header() + "]" + testing::pickled_int(3) + "a" +
                                  testing::pickled_stop());
  copy.write(path);
  EXPECT_EQ(checkpoint_error(path),
            path + ": not a Demucs checkpoint: its pickle holds a list, expected a dict with klass, kwargs and state");
  EXPECT_EQ(read_torch_save(path).repr(), "[3]");
}

TEST(CheckpointErrors, DictWithoutState) {
  ScratchDirectory dir;
  const std::string path = dir.file("no-state.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.remove_entry("state");
  copy.write(path);
  EXPECT_EQ(checkpoint_error(path), path + ": not a Demucs checkpoint: its dict has no 'state' entry (klass, kwargs "
                                           "and state expected)");
}

TEST(CheckpointErrors, KlassIsNotAClass) {
  ScratchDirectory dir;
  const std::string path = dir.file("klass-string.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.set_entry_value("klass", testing::pickled_string("demucs.htdemucs.HTDemucs"));
  copy.write(path);
  EXPECT_EQ(checkpoint_error(path), path + ": not a Demucs checkpoint: 'klass' is a str, expected a class");
}

TEST(CheckpointErrors, StateValueIsNotATensor) {
  ScratchDirectory dir;
  const std::string path = dir.file("int-in-state.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.set_entry_value("encoder.0.conv.bias", testing::pickled_int(3));
  copy.write(path);
  EXPECT_EQ(checkpoint_error(path),
            path + ": not a Demucs checkpoint: state['encoder.0.conv.bias'] is a int, expected a tensor");
}

TEST(CheckpointErrors, QuantizedState) {
  ScratchDirectory dir;
  const std::string path = dir.file("quantized.th");
  CheckpointRewriter copy(test_data(kFixture));
  // diffq's get_quantized_state() adds state['__quantized'] = True.
  copy.duplicate_entry("encoder.0.conv.bias", "__quantized");
  copy.set_entry_value("__quantized", testing::pickled_bool(true));
  copy.write(path);
  EXPECT_EQ(checkpoint_error(path), path + ": diffq-quantized checkpoints ('__quantized' state) are not supported: "
                                           "use the non-quantized version of this model");
}

TEST(CheckpointErrors, PositionalModelArguments) {
  ScratchDirectory dir;
  const std::string path = dir.file("args.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.set_entry_value("args", testing::pickled_int_tuple({4}));
  copy.write(path);
  EXPECT_EQ(checkpoint_error(path), path + ": positional model arguments (args = (4,)) are not supported, only kwargs");
}

TEST(CheckpointErrors, TensorOutsideItsStorage) {
  ScratchDirectory dir;
  const std::string path = dir.file("too-large.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.set_tensor_shape("encoder.0.conv.bias", {9});  // its storage holds 8 halfs
  copy.write(path);
  const std::string message = checkpoint_error(path);
  EXPECT_CONTAINS(message, path + ": cannot read data.pkl: pickle byte ");
  EXPECT_CONTAINS(message, "(REDUCE): tensor with size (9), stride (1), offset 0 reaches outside its storage of 8 "
                           "elements");
}

TEST(CheckpointErrors, UnsupportedStorageType) {
  ScratchDirectory dir;
  const std::string path = dir.file("qint8.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.replace_global("torch.HalfStorage", "torch.QInt8Storage");
  copy.write(path);
  const std::string message = checkpoint_error(path);
  EXPECT_CONTAINS(message, path + ": cannot read data.pkl: ");
  EXPECT_CONTAINS(message, "(BINPERSID): unsupported storage type torch.QInt8Storage");
}

TEST(CheckpointErrors, UnsupportedTensorType) {
  ScratchDirectory dir;
  const std::string path = dir.file("qtensor.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.replace_global("torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_qtensor");
  copy.write(path);
  const std::string message = checkpoint_error(path);
  EXPECT_CONTAINS(message, path + ": cannot read data.pkl: ");
  EXPECT_CONTAINS(message, "unsupported tensor type (torch._utils._rebuild_qtensor)");
}

TEST(CheckpointErrors, ReadTensorDictOfACheckpoint) {
  const std::string path = test_data(kFixture);
  try {
    read_tensor_dict(path);
    FAIL() << "no CheckpointError";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": expected a dict of str -> tensor, found the item 'klass': global");
  }
}

// Not errors: what the reader must accept, leaving the judgement to the network.

TEST(CheckpointErrors, OtherModelClassStillLoads) {
  ScratchDirectory dir;
  const std::string path = dir.file("hdemucs.th");
  CheckpointRewriter copy(test_data(kFixture));
  copy.replace_global("demucs.htdemucs.HTDemucs", "demucs.hdemucs.HDemucs");
  copy.write(path);
  const Checkpoint c = read_checkpoint(path);
  EXPECT_EQ(c.klass, "demucs.hdemucs.HDemucs");
  EXPECT_EQ(c.state.size(), 433u);
  EXPECT_EQ(c.kwargs.at("segment").as_fraction().numerator, 2);
}

TEST(CheckpointErrors, UnknownObjectsInTrainingArgsStillLoad) {
  ScratchDirectory dir;
  const std::string path = dir.file("training-args.th");
  CheckpointRewriter copy(test_data(kFixture));
  // omegaconf.DictConfig(()) with a BUILD state, and a set: classes we do not model.
  const std::string object = testing::pickled_global("omegaconf.dictconfig", "DictConfig") + ")R" + "}" +
                             testing::pickled_string("lr") + testing::pickled_float(3e-4) + "sb";
  const std::string a_set = testing::pickled_global("builtins", "set") + "]" + testing::pickled_int(1) + "a\x85R";
  copy.set_entry_value("training_args", "(" + object + a_set + "l");
  copy.write(path);
  const Checkpoint c = read_checkpoint(path);
  EXPECT_EQ(c.state.size(), 433u);
  const PickleValue root = read_torch_save(path);
  EXPECT_EQ(root.find("training_args")->repr(),
            "[omegaconf.dictconfig.DictConfig() with state {'lr': 0.0003}, builtins.set([1])]");
  const PickleValue& config = root.find("training_args")->as_list()[0];
  EXPECT_EQ(config.object_class(), "omegaconf.dictconfig.DictConfig");
  EXPECT_EQ(config.object_state().find("lr")->as_double(), 3e-4);
}

}  // namespace
}  // namespace demucs
