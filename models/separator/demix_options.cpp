#include "separator/demix_options.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace demucs {

std::int64_t demix_chunk_size(const DemixOptions& options, const SegmentModel& model) {
  if (options.chunk_size != 0) {
    return options.chunk_size;
  }
  return static_cast<std::int64_t>(std::llround(model.segment_seconds() * model.samplerate()));
}

void validate_demix_options(const DemixOptions& options, const SegmentModel& model) {
  const std::int64_t chunk = demix_chunk_size(options, model);
  if (chunk < 10) {
    // The reference's window has fade = chunk // 10 frames at each end; with
    // none, its `window[-0:] = fadeout` fails.
    throw std::invalid_argument("demix: chunk_size must be at least 10 frames, got " + std::to_string(chunk));
  }
  if (options.num_overlap < 1 || options.num_overlap > chunk) {
    throw std::invalid_argument("demix: num_overlap must be in [1, chunk_size=" + std::to_string(chunk) +
                                "], got " + std::to_string(options.num_overlap));
  }
  if (options.batch_size < 1) {
    throw std::invalid_argument("demix: batch_size must be at least 1, got " +
                                std::to_string(options.batch_size));
  }
}

}  // namespace demucs
