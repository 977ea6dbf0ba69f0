// The separator a loaded model runs in: upstream Demucs's apply_model
// (StreamSeparator) for an HTDemucs bag, the RoFormer community's demix
// (DemixSeparator) for a RoFormer network, with the public SeparatorOptions
// mapped onto its settings.
#pragma once

#include "demucs/demucs.h"
#include "loading/stem_model.h"
#include "separator/audio_separator.h"
#include "separator/demix_options.h"

#include <memory>

namespace demucs {

// A RoFormer model's demix settings from `options`: segment (seconds, when
// set) replaces the configuration's chunk_size; num_overlap (when set) its
// num_overlap; batch_size and threads pass through; `overlap` and
// `transition_power` (Demucs's) do not apply. Throws std::invalid_argument
// for shifts > 0 (the reference's demix has none).
DemixOptions roformer_demix_options(const StemModel& model, const SeparatorOptions& options);

// The separator of `model` for the rows `model.separate`. Throws
// std::invalid_argument for options it cannot run (the message names the field).
std::unique_ptr<AudioSeparator> model_separator(const StemModel& model, SeparatorOptions options);

}  // namespace demucs
