#include "gst-plugin/separation_worker.h"

#include <algorithm>

namespace demucs {

SeparationWorker::SeparationWorker(std::unique_ptr<StemStream> stream, std::int64_t capacity_frames)
    : stream_(std::move(stream)),
      samplerate_(stream_->samplerate()),
      latency_frames_(stream_->latency_frames()),
      capacity_frames_(std::max<std::int64_t>(1, capacity_frames)) {}

SeparationWorker::~SeparationWorker() = default;

SeparationWorker::PushResult SeparationWorker::enqueue(Item item) {
  std::unique_lock<std::mutex> lock(mutex_);
  // Wait for room; one item may overfill an empty queue (a buffer larger than
  // the capacity must still get through).
  changed_.wait(lock, [&] {
    return flushing_ || item.frames == 0 || queued_frames_ == 0 || queued_frames_ + item.frames <= capacity_frames_;
  });
  if (flushing_) {
    return PushResult::flushing;
  }
  if (ended_) {
    return PushResult::ended;
  }
  if (item.kind == Output::Kind::end) {
    ended_ = true;
  }
  item.position = frames_input_ + item.frames;
  frames_input_ += item.frames;
  if (item.kind == Output::Kind::restart) {
    frames_input_ = 0;  // positions after it count in the new stream
  }
  queued_frames_ += item.frames;
  queue_.push_back(std::move(item));
  changed_.notify_all();
  return PushResult::accepted;
}

SeparationWorker::PushResult SeparationWorker::push_audio(const float* interleaved, std::int64_t frames,
                                                          int channels) {
  if (frames <= 0) {
    return PushResult::accepted;
  }
  Item item;
  item.kind = Output::Kind::audio;
  item.samples.assign(interleaved, interleaved + frames * channels);
  item.frames = frames;
  item.channels = channels;
  return enqueue(std::move(item));
}

SeparationWorker::PushResult SeparationWorker::push_silence(std::int64_t frames) {
  if (frames <= 0) {
    return PushResult::accepted;
  }
  Item item;
  item.kind = Output::Kind::audio;
  item.frames = frames;
  item.channels = StemStream::kChannels;
  return enqueue(std::move(item));
}

SeparationWorker::PushResult SeparationWorker::push_marker(std::unique_ptr<Marker> marker) {
  Item item;
  item.kind = Output::Kind::marker;
  item.marker = std::move(marker);
  return enqueue(std::move(item));
}

SeparationWorker::PushResult SeparationWorker::push_end(std::unique_ptr<Marker> last) {
  Item item;
  item.kind = Output::Kind::end;
  item.marker = std::move(last);
  return enqueue(std::move(item));
}

SeparationWorker::PushResult SeparationWorker::push_restart(std::unique_ptr<Marker> next) {
  Item item;
  item.kind = Output::Kind::restart;
  item.marker = std::move(next);
  return enqueue(std::move(item));
}

void SeparationWorker::emit_audio(std::vector<Output>& outputs) {
  // The frames count even when no stem is wanted (nothing is copied then).
  const std::int64_t pulled_before = stream_->frames_pulled();
  const std::vector<std::vector<float>> stems = stream_->pull_stems();
  const std::int64_t frames = stream_->frames_pulled() - pulled_before;
  std::int64_t done = 0;
  release_markers(outputs, false);
  while (done < frames) {
    // Up to the next held marker, which comes out right after its frame.
    std::int64_t end = frames;
    if (!held_markers_.empty()) {
      end = std::min(frames, done + held_markers_.front().first - frames_output_.load());
    }
    Output output;
    output.kind = Output::Kind::audio;
    output.first_frame = frames_output_.load();
    output.frames = end - done;
    output.stems.resize(stems.size());
    for (size_t i = 0; i < stems.size(); ++i) {
      if (!stems[i].empty()) {
        output.stems[i].assign(stems[i].begin() + done * StemStream::kChannels,
                               stems[i].begin() + end * StemStream::kChannels);
      }
    }
    outputs.push_back(std::move(output));
    frames_output_ += end - done;
    done = end;
    release_markers(outputs, false);
  }
}

void SeparationWorker::release_markers(std::vector<Output>& outputs, bool all) {
  while (!held_markers_.empty() && (all || held_markers_.front().first <= frames_output_.load())) {
    Output output;
    output.kind = Output::Kind::marker;
    output.marker = std::move(held_markers_.front().second);
    held_markers_.pop_front();
    outputs.push_back(std::move(output));
  }
}

bool SeparationWorker::process_next(std::vector<Output>& outputs) {
  Item item;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return flushing_ || !queue_.empty(); });
    if (flushing_) {
      return false;
    }
    item = std::move(queue_.front());
    queue_.pop_front();
  }
  switch (item.kind) {
    case Output::Kind::audio: {
      if (item.samples.empty()) {
        const std::vector<float> silence(static_cast<size_t>(item.frames) * StemStream::kChannels, 0.0f);
        stream_->push(silence.data(), item.frames, StemStream::kChannels);
      } else {
        stream_->push(item.samples.data(), item.frames, item.channels);
      }
      emit_audio(outputs);
      break;
    }
    case Output::Kind::marker:
      held_markers_.emplace_back(item.position, std::move(item.marker));
      release_markers(outputs, false);
      break;
    case Output::Kind::end:
    case Output::Kind::restart: {
      drain(outputs);
      Output boundary;
      boundary.kind = item.kind;
      outputs.push_back(std::move(boundary));
      if (item.marker) {
        Output next;
        next.kind = Output::Kind::marker;
        next.marker = std::move(item.marker);
        outputs.push_back(std::move(next));
      }
      if (item.kind == Output::Kind::restart) {
        stream_->reset();
        frames_output_ = 0;
      }
      break;
    }
  }
  {
    // Only now is the input processed: the producer may queue more.
    std::lock_guard<std::mutex> lock(mutex_);
    queued_frames_ -= item.frames;
    changed_.notify_all();
  }
  return true;
}

void SeparationWorker::drain(std::vector<Output>& outputs) {
  stream_->finish();
  emit_audio(outputs);
  release_markers(outputs, true);
}

void SeparationWorker::set_flushing(bool flushing) {
  std::lock_guard<std::mutex> lock(mutex_);
  flushing_ = flushing;
  changed_.notify_all();
}

void SeparationWorker::reset() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.clear();
    queued_frames_ = 0;
    frames_input_ = 0;
    ended_ = false;
    changed_.notify_all();
  }
  held_markers_.clear();
  frames_output_ = 0;
  stream_->reset();
}

std::int64_t SeparationWorker::frames_queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queued_frames_;
}

}  // namespace demucs
