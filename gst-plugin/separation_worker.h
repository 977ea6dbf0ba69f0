// The queue between the element's streaming thread and its source pad task:
// input audio and serialized events go in on one side, in order; the task
// takes them out, runs the separation and gets back the output audio with the
// events placed after the audio that preceded them. Knows nothing of GStreamer.
//
//   producer (chain / sink event)        consumer (src pad task)
//   worker.push_audio(data, n, ch);      std::vector<Output> out;
//   worker.push_marker(event);           if (!worker.process_next(out)) pause;
//   worker.push_end(eos);                for (auto& o : out) push o downstream;
//
// The queue holds at most about `capacity_frames` frames of unprocessed input:
// push_audio() blocks while it is full, so memory stays bounded however fast
// upstream is. set_flushing(true) wakes and refuses both sides (FLUSH_START,
// deactivation); reset() drops everything for a fresh stream (FLUSH_STOP).
#pragma once

#include "demucs/demucs.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace demucs {

class SeparationWorker {
 public:
  // Something that travels in order with the audio: a serialized event. It
  // comes out once every input frame pushed before it has come out.
  class Marker {
   public:
    virtual ~Marker() = default;
  };

  struct Output {
    enum class Kind { audio, marker, end };
    Kind kind = Kind::audio;
    std::vector<float> samples;      // audio: interleaved stereo frames of the stem
    std::int64_t first_frame = 0;    // audio: output index of its first frame
    std::unique_ptr<Marker> marker;  // marker
  };

  enum class PushResult {
    accepted,
    flushing,  // set_flushing(true): nothing was queued
    ended,     // after push_end(): nothing was queued until reset()
  };

  SeparationWorker(std::unique_ptr<StemStream> stream, std::int64_t capacity_frames);
  ~SeparationWorker();
  SeparationWorker(const SeparationWorker&) = delete;
  SeparationWorker& operator=(const SeparationWorker&) = delete;

  // --- Producer side (one thread) ---
  // Queues `frames` interleaved frames of `channels` (1 or 2); blocks while
  // the queue is full.
  PushResult push_audio(const float* interleaved, std::int64_t frames, int channels);
  // Queues `frames` frames of silence (a gap in the stream).
  PushResult push_silence(std::int64_t frames);
  PushResult push_marker(std::unique_ptr<Marker> marker);
  // End of stream: the consumer drains the separation. `last` (the EOS
  // event; may be null) comes out after Kind::end.
  PushResult push_end(std::unique_ptr<Marker> last);

  // --- Consumer side (one thread) ---
  // Waits for queued input, separates it and appends to `outputs`, in order,
  // the audio and markers now ready; an audio output is split where a marker
  // falls inside it. Kind::end once the stream is drained, followed by the
  // end's marker. Returns false, adding nothing, when flushing. Exceptions of
  // the separation propagate.
  bool process_next(std::vector<Output>& outputs);

  // --- Control ---
  void set_flushing(bool flushing);
  // Drops queued input and held markers and restarts the separation. Only
  // while neither side runs (the chain returned, the task paused).
  void reset();

  int samplerate() const { return samplerate_; }
  std::int64_t latency_frames() const { return latency_frames_; }
  std::int64_t capacity_frames() const { return capacity_frames_; }
  // Output frames produced so far (any thread).
  std::int64_t frames_output() const { return frames_output_.load(); }
  // Input frames the separation has taken so far (consumer thread).
  std::int64_t frames_processed() const { return stream_->frames_pushed(); }
  // Input frames waiting in the queue (any thread).
  std::int64_t frames_queued() const;

 private:
  struct Item {
    Output::Kind kind = Output::Kind::audio;
    std::vector<float> samples;  // audio (empty for silence)
    std::int64_t frames = 0;
    int channels = 2;
    std::unique_ptr<Marker> marker;
    std::int64_t position = 0;  // marker: input frames queued before it
  };

  PushResult enqueue(Item item);
  void release_markers(std::vector<Output>& outputs, bool all);
  void emit_audio(std::vector<Output>& outputs, const std::vector<float>& samples);

  const std::unique_ptr<StemStream> stream_;
  const int samplerate_;
  const std::int64_t latency_frames_;
  const std::int64_t capacity_frames_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Item> queue_;
  std::int64_t queued_frames_ = 0;  // audio frames in queue_ or being processed
  std::int64_t frames_input_ = 0;   // audio frames ever queued (since reset)
  bool flushing_ = false;
  bool ended_ = false;

  // Consumer state.
  std::deque<std::pair<std::int64_t, std::unique_ptr<Marker>>> held_markers_;
  std::atomic<std::int64_t> frames_output_{0};
};

}  // namespace demucs
