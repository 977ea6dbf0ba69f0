#include "separator/shift_schedule.h"

#include "separator/python_random.h"

#include <utility>

namespace demucs {

std::vector<std::vector<std::int64_t>> shift_delays(const ModelBag& bag, int shifts,
                                                    std::uint64_t seed) {
  std::vector<std::vector<std::int64_t>> delays;
  PythonRandom random(seed);
  for (const WeightedModel& member : bag) {
    if (shifts == 0) {
      delays.push_back({0});
      continue;
    }
    const std::int64_t max_shift = static_cast<std::int64_t>(0.5 * member.model->samplerate());
    std::vector<std::int64_t> model_delays;
    for (int shift = 0; shift < shifts; ++shift) {
      const std::int64_t offset = random.randint(0, max_shift);
      model_delays.push_back(max_shift - offset);
    }
    delays.push_back(std::move(model_delays));
  }
  return delays;
}

}  // namespace demucs
