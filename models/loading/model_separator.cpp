#include "loading/model_separator.h"

#include "separator/demix_separator.h"
#include "separator/stream_separator.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace demucs {

DemixOptions roformer_demix_options(const StemModel& model, const SeparatorOptions& options) {
  if (options.shifts > 0) {
    throw std::invalid_argument("shifts must be 0 for the RoFormer model " + model.name +
                                " (its reference demix has no random shifts), not " + std::to_string(options.shifts));
  }
  if (options.segment < 0) {
    throw std::invalid_argument("segment must be >= 0 seconds, not " + std::to_string(options.segment));
  }
  if (options.num_overlap < 0) {
    throw std::invalid_argument("num_overlap must be >= 0 (0 = the model's configuration), not " +
                                std::to_string(options.num_overlap));
  }
  DemixOptions demix;
  demix.chunk_size = options.segment > 0 ? static_cast<std::int64_t>(options.segment * model.samplerate)
                                         : model.chunk_size;
  demix.num_overlap = options.num_overlap > 0 ? options.num_overlap : model.num_overlap;
  demix.batch_size = options.batch_size;
  demix.threads = options.threads;
  demix.stems = model.separate;
  return demix;
}

std::unique_ptr<AudioSeparator> model_separator(const StemModel& model, SeparatorOptions options) {
  if (model.roformer) {
    return std::make_unique<DemixSeparator>(model.roformer, roformer_demix_options(model, options));
  }
  options.stems = model.separate;
  return std::make_unique<StreamSeparator>(model.bag, options);
}

}  // namespace demucs
