#include "checkpoint/checkpoint_writer.h"

#include "checkpoint/pickle_writer.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace demucs {

namespace {

PickleDict string_keyed(const std::map<std::string, PickleValue>& values) {
  PickleDict dict;
  for (const auto& [key, value] : values) {
    dict.emplace_back(PickleValue::from_string(key), value);
  }
  return dict;
}

// What upstream's demucs.states.serialize_model saves.
PickleValue checkpoint_package(const Checkpoint& checkpoint) {
  PickleDict state;
  for (const auto& [name, tensor] : checkpoint.state) {
    state.emplace_back(PickleValue::from_string(name), PickleValue::from_tensor(tensor));
  }
  PickleDict package;
  package.emplace_back(PickleValue::from_string("klass"), PickleValue::from_global(checkpoint.klass));
  package.emplace_back(PickleValue::from_string("args"), PickleValue::from_tuple({}));
  package.emplace_back(PickleValue::from_string("kwargs"), PickleValue::from_dict(string_keyed(checkpoint.kwargs)));
  package.emplace_back(PickleValue::from_string("state"), PickleValue::from_dict(std::move(state)));
  package.emplace_back(PickleValue::from_string("training_args"), PickleValue::none());
  return PickleValue::from_dict(std::move(package));
}

}  // namespace

void write_torch_save_records(const std::string& path, const std::vector<TorchSaveRecord>& records,
                              uint64_t min_version) {
  const auto fail = [&path](const std::string& problem) -> void {
    throw CheckpointError(path + ": cannot write: " + problem);
  };
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    fail(std::strerror(errno));
  }
  try {
    caffe2::serialize::PyTorchStreamWriter writer([&out](const void* data, size_t size) -> size_t {
      out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
      return out ? size : 0;
    });
    writer.setMinVersion(min_version);
    for (const auto& record : records) {
      writer.writeRecord(record.name, record.data, record.size);
    }
    writer.writeEndOfFile();
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    fail(what.substr(0, what.find('\n')));
  }
  if (!out.flush()) {
    fail(std::strerror(errno));
  }
}

void write_torch_save(const PickleValue& root, const std::string& path) {
  TorchSavePickle pickled;
  try {
    pickled = pickle_for_torch_save(root);
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path + ": cannot write: " + e.what());
  }
  std::vector<TorchSaveRecord> records;
  records.push_back({"data.pkl", pickled.pickle.data(), pickled.pickle.size()});
  for (size_t i = 0; i < pickled.storages.size(); ++i) {
    const at::Tensor& storage = pickled.storages[i];
    records.push_back({"data/" + std::to_string(i), storage.data_ptr(), storage.nbytes()});
  }
  write_torch_save_records(path, records);
}

void write_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  write_torch_save(checkpoint_package(checkpoint), path);
}

}  // namespace demucs
