// The queue between the element's streaming thread and its source pad task:
// input audio and serialized events go in on one side, in order; the task
// takes them out, runs the separation and gets back the output audio (every
// stem of the StemStream, from one separation) with the events placed after
// the audio that preceded them. Knows nothing of GStreamer. It is the
// streaming core that demucsvocals (one stem) and demucsdemux (a pad per
// stem) share.
//
//   producer (chain / sink event)        consumer (src pad task)
//   worker.push_audio(data, n, ch);      std::vector<Output> out;
//   worker.push_marker(event);           if (!worker.process_next(out)) pause;
//   worker.push_restart(timestamp);      for (auto& o : out) push o downstream;
//   worker.push_end(eos);
//
// The queue holds at most about `capacity_frames` frames of unprocessed input:
// push_audio() blocks while it is full, so memory stays bounded however fast
// upstream is. set_flushing(true) wakes and refuses both sides (FLUSH_START,
// deactivation); reset() drops everything for a fresh stream (FLUSH_STOP).
// push_restart() ends the stream where it is (a discontinuity): what came
// before is drained, and output starts again at frame 0 of a new stream.
#pragma once

#include "demucs/demucs.h"

#include <atomic>
#include <cstddef>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
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
    // restart: the audio before a push_restart() has all come out; the
    // next audio starts a new stream (first_frame 0). Its marker follows it.
    enum class Kind { audio, marker, end, restart };
    Kind kind = Kind::audio;
    // audio: one vector of interleaved stereo frames per stem of the stream
    // (empty for a stem set unwanted), `frames` frames each.
    std::vector<std::vector<float>> stems;
    std::int64_t frames = 0;
    std::int64_t first_frame = 0;    // audio: output index of its first frame in this stream
    std::unique_ptr<Marker> marker;  // marker, restart, end
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
  // A discontinuity: the consumer drains what is queued before it (Kind::audio
  // up to the last frame), gives Kind::restart and `next` (may be null), and
  // starts a fresh separation for what follows.
  PushResult push_restart(std::unique_ptr<Marker> next);

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
  // Consumer side: whether the audio outputs carry stem `index` (a stem nobody
  // takes costs no copy).
  void set_stem_wanted(std::size_t index, bool wanted) { stream_->set_stem_wanted(index, wanted); }

  const std::vector<std::string>& stems() const { return stream_->stems(); }
  int samplerate() const { return samplerate_; }
  std::int64_t latency_frames() const { return latency_frames_; }
  std::int64_t capacity_frames() const { return capacity_frames_; }
  // Output frames produced so far (any thread).
  std::int64_t frames_output() const { return frames_output_.load(); }
  // Input frames the separation has taken so far in this stream (consumer thread).
  std::int64_t frames_processed() const { return stream_->frames_pushed(); }
  // Forward calls of the network so far, resets included (consumer thread).
  std::int64_t forward_calls() const { return stream_->forward_calls(); }
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
  // Pulls the stream and appends its audio, split at the held markers.
  void emit_audio(std::vector<Output>& outputs);
  void drain(std::vector<Output>& outputs);

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
