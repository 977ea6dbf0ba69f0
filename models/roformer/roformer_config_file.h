// Reads the YAML configuration that comes with a community RoFormer
// checkpoint (ZFTurbo Music-Source-Separation-Training: `audio`, `model`,
// `training`, `inference`) into a RoformerConfig, with yaml-cpp.
//
// Every key of `model` is accounted for: an argument the network implements
// is read (absent: the reference constructor's default), a training-only one
// (dropouts, flash_attn, multi_stft_*, use_torch_checkpoint) is ignored, and
// anything else -- an argument not implemented here with a value other than
// its default (use_pope: true, stft_window_fn, sage_attention: true), or a key
// the reference does not know -- is an UnsupportedModelError naming the key
// and the file, so that no setting is silently dropped.
#pragma once

#include "roformer/roformer_config.h"

#include <string>

namespace demucs {

/// RoformerKind for a reference model_type: "bs_roformer" or
/// "mel_band_roformer"; any other name is an UnsupportedModelError naming it
/// (`origin`, a file name, starts the message).
RoformerKind roformer_kind_of_model_type(const std::string& model_type, const std::string& origin);

/// Reads the configuration file at `path`. `model_type` is what the caller
/// knows of the architecture ("" = unknown): the community files carry none
/// (ZFTurbo passes --model_type on the command line), so without it the kind
/// is read from a `model_type` key (top level, `training` or `model`) if the
/// file has one, else inferred: `freqs_per_bands` means BS-RoFormer,
/// `num_bands` Mel-Band RoFormer.
/// Throws ModelNotFoundError for a missing file; CheckpointError naming the
/// file and the key for a file that is not YAML, a missing required key or a
/// value of the wrong type; UnsupportedModelError as said above.
RoformerConfig read_roformer_config(const std::string& path, const std::string& model_type = "");

/// The same from the text of a configuration; `origin` names it in messages.
RoformerConfig parse_roformer_config(const std::string& yaml_text, const std::string& origin,
                                     const std::string& model_type = "");

}  // namespace demucs
