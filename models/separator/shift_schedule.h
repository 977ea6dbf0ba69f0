// The random shifts of upstream's shift trick, drawn as upstream draws them:
// model by model (in bag order, including models that will not run), shift by
// shift, offset = random.randint(0, max_shift) with max_shift = int(0.5 * samplerate).
// The shifted pass sees the mix delayed by max_shift - offset zero frames, and
// its first max_shift - offset output frames are dropped.
#pragma once

#include "separator/model_bag.h"

#include <cstdint>
#include <vector>

namespace demucs {

// delays[m][i]: the zero frames before the mix in shift i of model m, after
// `random.seed(seed)`. With shifts == 0: one pass per model with delay 0 and
// no random draw.
std::vector<std::vector<std::int64_t>> shift_delays(const ModelBag& bag, int shifts,
                                                    std::uint64_t seed);

}  // namespace demucs
