// The registry of known pretrained models: the official HTDemucs checkpoints,
// where upstream Demucs publishes them, their sha256 prefixes and bag weights;
// and popular community RoFormer checkpoints with their YAML configurations
// (no published checksum for the checkpoints: trusted on first download).
// ModelFile, KnownModel, known_models, find_known_model, known_model_names and
// model_download_root are part of the public API: declared in demucs/demucs.h.
#pragma once

#include "demucs/demucs.h"

#include <cstddef>
#include <string>
#include <vector>

namespace demucs {

/// The sha256 prefix that a checkpoint file name carries, as torch.hub's
/// check_hash reads it: the part after the last '-' and before the extension
/// ("955717e8-8726e21a.th" -> "8726e21a"). Empty if the name carries none.
std::string sha256_prefix_in_file_name(const std::string &file_name);

/// Index of `source` in model.sources; throws std::invalid_argument naming the
/// model's sources if it has none of that name.
std::size_t source_index(const KnownModel &model, const std::string &source);

/// The members (indices into model.files) that contribute to any of `stems`:
/// those whose weight is non-zero for at least one of them. An empty `stems`
/// means all sources, so every member with a non-zero weight. Throws
/// std::invalid_argument for a stem that is not one of the model's sources.
std::vector<std::size_t> members_needed(const KnownModel &model,
                                        const std::vector<std::string> &stems);

}  // namespace demucs
