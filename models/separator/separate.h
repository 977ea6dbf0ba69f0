// Offline separation of a whole mix: upstream apply_model(model, mix[None],
// shifts, split=True, overlap, transition_power)[0] (after random.seed(seed)),
// run through the streaming separator so that memory stays bounded beyond the
// mix and the result.
#pragma once

#include "separator/model_bag.h"
#include "separator/separator_options.h"

#include <ATen/core/Tensor.h>

#include <memory>

namespace demucs {

// mix: (channels, length) planar audio. Returns float32 CPU (stems, channels,
// length), stems in the order of options.stems (all sources if empty).
at::Tensor separate(const ModelBag& bag, const at::Tensor& mix, const SeparatorOptions& options = {});
at::Tensor separate(std::shared_ptr<SegmentModel> model, const at::Tensor& mix,
                    const SeparatorOptions& options = {});

}  // namespace demucs
