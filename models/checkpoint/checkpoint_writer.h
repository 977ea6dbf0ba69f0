// Writes checkpoints in the official Demucs format, the inverse of
// checkpoint_reader: a torch.save zip archive (records in an "archive/"
// folder, written with LibTorch's PyTorchStreamWriter) whose data.pkl holds
// {'klass', 'args': (), 'kwargs', 'state', 'training_args': None} and whose
// data/N records hold the tensors' bytes. torch.load and upstream Demucs's
// load_model read the files; so does read_checkpoint.
//
//   demucs::Checkpoint checkpoint{"", "demucs.htdemucs.HTDemucs", kwargs, state};
//   demucs::write_checkpoint(checkpoint, "model.th");
#pragma once

#include "checkpoint/checkpoint_reader.h"
#include "checkpoint/pickle_value.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace demucs {

// Writes `checkpoint` (its klass, kwargs and state; `path` is ignored) to
// `path`. Tensors are stored in their own dtype (official files hold float16:
// convert before writing for the same size) and layout-free (contiguous, one
// storage each). kwargs['segment'] is best a Fraction, as upstream stores it.
// Throws CheckpointError naming `path` when the file cannot be written or a
// value cannot be pickled.
void write_checkpoint(const Checkpoint& checkpoint, const std::string& path);

// Writes any pickle-able value (see pickle_for_torch_save) as a torch.save
// file, for example a dict of str -> tensor. Throws CheckpointError.
void write_torch_save(const PickleValue& root, const std::string& path);

// One record of a torch.save archive, by name without the archive folder
// ("data.pkl", "data/0"); `data` must stay valid during the write.
struct TorchSaveRecord {
  std::string name;
  const void* data = nullptr;
  size_t size = 0;
};

// Writes `records` as a torch.save zip archive (folder "archive", as
// torch.save names it) to `path`. The "version" record is written by
// PyTorchStreamWriter itself: at least `min_version`, the format version the
// file's reader must support. Throws CheckpointError naming `path`.
void write_torch_save_records(const std::string& path, const std::vector<TorchSaveRecord>& records,
                              uint64_t min_version = 0);

}  // namespace demucs
