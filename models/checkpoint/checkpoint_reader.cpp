#include "checkpoint/checkpoint_reader.h"

#include "checkpoint/pickle_reader.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

namespace demucs {

namespace {

// The pickle's root object, read from a torch.save zip archive, with every
// failure (file system, zip container, pickle) reported as a CheckpointError
// naming the file.
class TorchSaveFile {
 public:
  explicit TorchSaveFile(std::string path) : path_(std::move(path)) {
    check_is_zip_file();
    try {
      archive_ = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path_);
    } catch (const c10::Error& e) {
      const std::string detail = first_line(e.what_without_backtrace());
      if (!has_end_of_central_directory()) {
        fail("truncated or damaged zip archive (it has no end of central directory: " + detail + ")");
      }
      fail("a zip archive but not a torch.save one (" + detail + ")");
    }
  }

  PickleValue read_root() {
    if (!archive_->hasRecord("data.pkl")) {
      fail("the zip archive has no data.pkl record: not a torch.save file");
    }
    if (archive_->hasRecord("byteorder")) {
      const StorageRecord order = record("byteorder");
      const std::string text(static_cast<const char*>(order.data.get()), order.size);
      if (text != "little") {
        fail("tensors stored in '" + text + "' byte order; only little-endian files are supported");
      }
    }
    const StorageRecord pickle = record("data.pkl");
    const StorageRecordSource storages = [this](const std::string& key) {
      const std::string name = "data/" + key;
      if (!archive_->hasRecord(name)) {
        fail("the tensor storage record " + name + " is missing from the archive");
      }
      return record(name);
    };
    try {
      return read_pickle(pickle.data.get(), pickle.size, storages);
    } catch (const PickleError& e) {
      fail(std::string("cannot read data.pkl: ") + e.what());
    }
  }

  [[noreturn]] void fail(const std::string& problem) const { throw CheckpointError(path_ + ": " + problem); }

 private:
  static std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

  // A clear message for the common mistakes before the zip reader sees the file.
  void check_is_zip_file() const {
    std::error_code error;
    const auto status = std::filesystem::status(path_, error);
    if (!std::filesystem::exists(status)) {
      fail("no such file");
    }
    if (std::filesystem::is_directory(status)) {
      fail("is a directory, not a checkpoint file");
    }
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
      fail(std::string("cannot open: ") + std::strerror(errno));
    }
    char magic[4] = {};
    in.read(magic, sizeof magic);
    if (in.gcount() == 0) {
      fail("empty file, not a torch.save zip archive");
    }
    if (in.gcount() == sizeof magic && std::memcmp(magic, "PK\x03\x04", sizeof magic) == 0) {
      return;
    }
    if (static_cast<unsigned char>(magic[0]) == 0x80) {
      fail("not a zip archive but a legacy (PyTorch < 1.6) torch.save file, which is not supported: re-save it "
           "with a recent PyTorch");
    }
    fail("not a zip archive (a torch.save file is one)");
  }

  // A zip archive ends with an "end of central directory" record (signature
  // PK\5\6, then at most 18 + 65535 bytes); a truncated file has lost it.
  bool has_end_of_central_directory() const {
    std::ifstream in(path_, std::ios::binary | std::ios::ate);
    const std::streamoff size = in.tellg();
    if (size <= 0) {
      return false;
    }
    const std::streamoff tail = std::min<std::streamoff>(size, 22 + 65535);
    std::string bytes(static_cast<size_t>(tail), '\0');
    in.seekg(size - tail);
    in.read(bytes.data(), tail);
    const auto found = bytes.rfind(std::string("PK\x05\x06", 4));
    return in && found != std::string::npos && found + 22 <= bytes.size();
  }

  StorageRecord record(const std::string& name) const {
    try {
      auto [data, size] = archive_->getRecord(name);
      return StorageRecord{std::move(data), size};
    } catch (const c10::Error& e) {
      fail("cannot read record " + name + " (truncated or damaged archive?): " +
           first_line(e.what_without_backtrace()));
    }
  }

  std::string path_;
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive_;
};

// dict[key], or a CheckpointError saying the file is not a Demucs checkpoint.
const PickleValue& required_entry(const TorchSaveFile& file, const PickleValue& dict, const std::string& key) {
  const PickleValue* value = dict.find(key);
  if (value == nullptr) {
    file.fail("not a Demucs checkpoint: its dict has no '" + key + "' entry (klass, kwargs and state expected)");
  }
  return *value;
}

std::map<std::string, PickleValue> read_kwargs(const TorchSaveFile& file, const PickleValue& kwargs) {
  if (kwargs.kind() != PickleValue::Kind::Dict) {
    file.fail(std::string("not a Demucs checkpoint: 'kwargs' is a ") + kwargs.kind_name() + ", expected a dict");
  }
  std::map<std::string, PickleValue> result;
  for (const auto& [key, value] : kwargs.as_dict()) {
    if (key.kind() != PickleValue::Kind::String) {
      file.fail("not a Demucs checkpoint: 'kwargs' has a key that is not a string: " + key.repr());
    }
    result[key.as_string()] = value;
  }
  return result;
}

std::map<std::string, at::Tensor> read_state(const TorchSaveFile& file, const PickleValue& state) {
  if (state.kind() != PickleValue::Kind::Dict) {
    file.fail(std::string("not a Demucs checkpoint: 'state' is a ") + state.kind_name() + ", expected a dict");
  }
  if (state.find("__quantized") != nullptr) {
    file.fail("diffq-quantized checkpoints ('__quantized' state) are not supported: use the non-quantized "
              "version of this model");
  }
  std::map<std::string, at::Tensor> result;
  for (const auto& [key, value] : state.as_dict()) {
    if (key.kind() != PickleValue::Kind::String) {
      file.fail("not a Demucs checkpoint: 'state' has a key that is not a string: " + key.repr());
    }
    if (value.kind() != PickleValue::Kind::Tensor) {
      file.fail("not a Demucs checkpoint: state['" + key.as_string() + "'] is a " + value.kind_name() +
                ", expected a tensor");
    }
    result[key.as_string()] = value.as_tensor();
  }
  return result;
}

}  // namespace

Checkpoint read_checkpoint(const std::string& path) {
  TorchSaveFile file(path);
  const PickleValue root = file.read_root();
  if (root.kind() != PickleValue::Kind::Dict) {
    file.fail(std::string("not a Demucs checkpoint: its pickle holds a ") + root.kind_name() +
              ", expected a dict with klass, kwargs and state");
  }
  const PickleValue& klass = required_entry(file, root, "klass");
  const PickleValue& kwargs = required_entry(file, root, "kwargs");
  const PickleValue& state = required_entry(file, root, "state");
  if (klass.kind() != PickleValue::Kind::Global) {
    file.fail(std::string("not a Demucs checkpoint: 'klass' is a ") + klass.kind_name() + ", expected a class");
  }
  if (const PickleValue* args = root.find("args");
      args != nullptr && !((args->kind() == PickleValue::Kind::Tuple || args->kind() == PickleValue::Kind::List) &&
                           args->as_list().empty())) {
    file.fail("positional model arguments (args = " + args->repr() + ") are not supported, only kwargs");
  }

  Checkpoint checkpoint;
  checkpoint.path = path;
  checkpoint.klass = klass.as_global();
  checkpoint.kwargs = read_kwargs(file, kwargs);
  checkpoint.state = read_state(file, state);
  return checkpoint;
}

std::map<std::string, at::Tensor> read_tensor_dict(const std::string& path) {
  TorchSaveFile file(path);
  const PickleValue root = file.read_root();
  if (root.kind() != PickleValue::Kind::Dict) {
    file.fail(std::string("its pickle holds a ") + root.kind_name() + ", expected a dict of str -> tensor");
  }
  std::map<std::string, at::Tensor> result;
  for (const auto& [key, value] : root.as_dict()) {
    if (key.kind() != PickleValue::Kind::String || value.kind() != PickleValue::Kind::Tensor) {
      file.fail("expected a dict of str -> tensor, found the item " + key.repr() + ": " + value.kind_name());
    }
    result[key.as_string()] = value.as_tensor();
  }
  return result;
}

PickleValue read_torch_save(const std::string& path) {
  return TorchSaveFile(path).read_root();
}

}  // namespace demucs
