#include "separator/separator_options.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace demucs {

void validate_separator_options(const SeparatorOptions& options) {
  if (!(options.overlap >= 0.0 && options.overlap < 1.0)) {
    throw std::invalid_argument("separator: overlap must be in [0, 1), got " +
                                std::to_string(options.overlap));
  }
  if (options.shifts < 0) {
    throw std::invalid_argument("separator: shifts must be >= 0, got " +
                                std::to_string(options.shifts));
  }
  if (!(options.segment >= 0.0) || !std::isfinite(options.segment)) {
    throw std::invalid_argument(
        "separator: segment must be a positive number of seconds (or 0 for the model's own), got " +
        std::to_string(options.segment));
  }
  if (options.batch_size < 1) {
    throw std::invalid_argument("separator: batch_size must be >= 1, got " +
                                std::to_string(options.batch_size));
  }
  if (!(options.transition_power >= 1.0) || !std::isfinite(options.transition_power)) {
    throw std::invalid_argument("separator: transition_power must be >= 1, got " +
                                std::to_string(options.transition_power));
  }
}

}  // namespace demucs
