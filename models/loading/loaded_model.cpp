// LoadedModel, load_model and separate (demucs/demucs.h): the public face of
// load_stem_model and StemStream.
#include "demucs/demucs.h"

#include "loading/stem_model.h"
#include "network/compute_device.h"

#include <algorithm>
#include <utility>

namespace demucs {

LoadedModel::LoadedModel(std::shared_ptr<const StemModel> model) : model_(std::move(model)) {}

const std::string& LoadedModel::name() const { return model_->name; }
const std::string& LoadedModel::stem() const { return model_->stem; }
const std::vector<std::string>& LoadedModel::stems() const { return model_->stems; }
const std::vector<std::string>& LoadedModel::sources() const { return model_->sources; }
int LoadedModel::samplerate() const { return model_->samplerate; }
int LoadedModel::audio_channels() const { return model_->audio_channels; }
double LoadedModel::segment_seconds() const { return model_->segment_seconds; }
std::string LoadedModel::device() const { return model_->device.str(); }
Precision LoadedModel::precision() const { return model_->precision; }
const void* LoadedModel::network_identity() const {
  if (model_->roformer) {
    return model_->roformer.get();
  }
  return model_->bag.front().model.get();
}

LoadedModel load_model(const std::string& spec, const std::string& stem, const LoadOptions& options) {
  const c10::Device device = parse_compute_device(options.device);
  return LoadedModel(
      std::make_shared<const StemModel>(load_stem_model(spec, stem, device, options.precision, options.config)));
}

LoadedModel load_model(const std::string& spec, const std::vector<std::string>& stems, const LoadOptions& options) {
  const c10::Device device = parse_compute_device(options.device);
  return LoadedModel(
      std::make_shared<const StemModel>(load_stems_model(spec, stems, device, options.precision, options.config)));
}

std::vector<float> separate(const LoadedModel& model, const float* interleaved, std::int64_t frames, int channels,
                            const SeparatorOptions& options) {
  StemStream stream(model, options);
  std::vector<float> result;
  result.reserve(static_cast<size_t>(std::max<std::int64_t>(frames, 0)) * StemStream::kChannels);
  // In pieces of a second: the stream's memory stays bounded beyond the input and the result.
  const std::int64_t piece = std::max(1, model.samplerate());
  for (std::int64_t done = 0; done < frames; done += piece) {
    stream.push(interleaved + done * channels, std::min(piece, frames - done), channels);
    const std::vector<float> ready = stream.pull();
    result.insert(result.end(), ready.begin(), ready.end());
  }
  stream.finish();
  const std::vector<float> rest = stream.pull();
  result.insert(result.end(), rest.begin(), rest.end());
  return result;
}

}  // namespace demucs
