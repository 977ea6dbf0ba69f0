#include "separator/model_bag.h"

#include <stdexcept>
#include <string>
#include <utility>

namespace demucs {

ModelBag single_model_bag(std::shared_ptr<SegmentModel> model) {
  ModelBag bag;
  bag.push_back(WeightedModel{std::move(model), {}});
  return bag;
}

ModelBag validated_bag(ModelBag bag) {
  if (bag.empty()) {
    throw std::invalid_argument("separator: the bag holds no model");
  }
  for (std::size_t index = 0; index < bag.size(); ++index) {
    if (!bag[index].model) {
      throw std::invalid_argument("separator: model " + std::to_string(index) + " of the bag is null");
    }
  }
  const SegmentModel& first = *bag.front().model;
  for (std::size_t index = 0; index < bag.size(); ++index) {
    WeightedModel& member = bag[index];
    const SegmentModel& model = *member.model;
    const std::string which = "separator: model " + std::to_string(index) + " of the bag ";
    if (model.sources() != first.sources()) {
      throw std::invalid_argument(which + "has other sources than model 0");
    }
    if (model.samplerate() != first.samplerate()) {
      throw std::invalid_argument(which + "has samplerate " + std::to_string(model.samplerate()) +
                                  ", model 0 has " + std::to_string(first.samplerate()));
    }
    if (model.audio_channels() != first.audio_channels()) {
      throw std::invalid_argument(which + "has " + std::to_string(model.audio_channels()) +
                                  " audio channels, model 0 has " +
                                  std::to_string(first.audio_channels()));
    }
    if (model.samplerate() <= 0 || model.audio_channels() <= 0 || model.sources().empty() ||
        !(model.segment_seconds() > 0.0)) {
      throw std::invalid_argument(which + "reports no sources, samplerate, channels or segment");
    }
    if (member.weights.empty()) {
      member.weights.assign(model.sources().size(), 1.0);
    } else if (member.weights.size() != model.sources().size()) {
      throw std::invalid_argument(which + "has " + std::to_string(member.weights.size()) +
                                  " weights for " + std::to_string(model.sources().size()) +
                                  " sources");
    }
  }
  return bag;
}

}  // namespace demucs
