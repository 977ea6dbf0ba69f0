// Loads a community RoFormer checkpoint: the .ckpt (its state_dict) and the
// YAML configuration that describes its network.
#pragma once

#include "demucs/demucs.h"  // Precision
#include "roformer/roformer.h"

#include <c10/core/Device.h>

#include <memory>
#include <string>

namespace demucs {

/// The configuration a checkpoint uses when none is named: the same path with
/// the extension .yaml ("model.ckpt" -> "model.yaml"), as the community
/// publishes them side by side.
std::string default_roformer_config_path(const std::string& checkpoint);

/// Builds the network of `checkpoint` on `device`. `config` is its YAML
/// configuration ("" = default_roformer_config_path(checkpoint));
/// `model_type` what the caller knows of the architecture ("" = read from
/// the configuration, see read_roformer_config).
/// Throws ModelNotFoundError for a missing checkpoint or configuration (the
/// message names the file looked for and how to name another);
/// CheckpointError / UnsupportedModelError for a bad file or setting;
/// StateMismatchError naming the first tensor that does not fit the
/// configuration.
std::shared_ptr<Roformer> load_roformer(const std::string& checkpoint, const std::string& config, at::Device device,
                                        Precision precision = Precision::fp32, const std::string& model_type = "");

}  // namespace demucs
