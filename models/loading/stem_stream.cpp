// StemStream (demucs/demucs.h): one stem of a loaded model as a stream.
#include "demucs/demucs.h"

#include "loading/model_separator.h"
#include "loading/stem_model.h"

#include <ATen/ATen.h>

#include <stdexcept>

namespace demucs {

StemStream::StemStream(const LoadedModel& loaded, SeparatorOptions options)
    : stems_(loaded.parts().stems), parts_(loaded.parts().stem_parts), wanted_(stems_.size(), 1) {
  const StemModel& model = loaded.parts();
  if (model.audio_channels != kChannels) {
    throw std::invalid_argument("model " + model.name + " has " + std::to_string(model.audio_channels) +
                                " audio channels; only stereo models are supported");
  }
  separator_ = model_separator(model, options);
  if (options.segment > 0) {
    segment_frames_ = static_cast<std::int64_t>(options.segment * model.samplerate);
  } else {
    segment_frames_ =
        model.roformer ? model.chunk_size : static_cast<std::int64_t>(model.segment_seconds * model.samplerate);
  }
}

StemStream::~StemStream() = default;

void StemStream::push(const float* interleaved, std::int64_t frames, int channels) {
  if (channels == kChannels) {
    separator_->push_interleaved(interleaved, frames, kChannels);
    return;
  }
  if (channels != 1) {
    throw std::invalid_argument("StemStream takes 1 or 2 channels, not " + std::to_string(channels));
  }
  // Mono is duplicated to stereo, as upstream's convert_audio does.
  stereo_.resize(static_cast<size_t>(frames) * kChannels);
  for (std::int64_t i = 0; i < frames; ++i) {
    stereo_[2 * i] = interleaved[i];
    stereo_[2 * i + 1] = interleaved[i];
  }
  separator_->push_interleaved(stereo_.data(), frames, kChannels);
}

namespace {

// One stem out of the separator's (sources, channels, n): its sources added
// up, interleaved.
std::vector<float> interleaved_stem(const at::Tensor& separated, const std::vector<std::int64_t>& parts) {
  at::Tensor stem;
  if (parts.size() == 1) {
    stem = separated[parts.front()];
  } else {
    const at::Tensor rows = at::tensor(parts, at::kLong);
    stem = separated.index_select(0, rows).sum(0);
  }
  const at::Tensor interleaved = stem.t().contiguous();
  const float* data = interleaved.data_ptr<float>();
  return std::vector<float>(data, data + interleaved.numel());
}

}  // namespace

std::vector<float> StemStream::pull() {
  std::vector<std::vector<float>> stems = pull_stems();
  return stems.empty() ? std::vector<float>{} : std::move(stems.front());
}

std::vector<std::vector<float>> StemStream::pull_stems() {
  const at::Tensor separated = separator_->pull();  // (sources, channels, n)
  std::vector<std::vector<float>> stems(stems_.size());
  if (separated.size(-1) == 0) {
    return stems;
  }
  for (size_t i = 0; i < stems_.size(); ++i) {
    if (wanted_[i] != 0) {
      stems[i] = interleaved_stem(separated, parts_[i]);
    }
  }
  return stems;
}

void StemStream::set_stem_wanted(std::size_t index, bool wanted) { wanted_.at(index) = wanted ? 1 : 0; }

void StemStream::finish() { separator_->finish(); }

void StemStream::reset() { separator_->reset(); }

bool StemStream::finished() const { return separator_->finished(); }

int StemStream::samplerate() const { return separator_->samplerate(); }

std::int64_t StemStream::frames_pushed() const { return separator_->frames_pushed(); }

std::int64_t StemStream::frames_pulled() const { return separator_->frames_pulled(); }

std::int64_t StemStream::forward_calls() const { return separator_->forward_calls(); }

std::int64_t StemStream::latency_frames() const { return separator_->latency_frames(); }

std::int64_t StemStream::segment_frames() const { return segment_frames_; }

}  // namespace demucs
