// What the in-process tests of the demucsvocals and demucsdemux elements
// share: the fixture mix and its numbers, GStreamer's set-up, raw audio caps,
// a probe that records what leaves a pad, and waiting for the end of a stream.
#pragma once

#include <ATen/core/Tensor.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace demucs::testing {

// An output this close to upstream Demucs's (SNR in dB) counts as the same.
inline constexpr double kMinSnrDb = 80.0;
// The tiny models' sample rate, and the length of tests/data/mix.wav (6 s) at it.
inline constexpr int kRate = 44100;
inline constexpr int64_t kMixFrames = 264600;

// tests/data/mix.wav: (2, frames), and the same interleaved.
at::Tensor fixture_mix();
std::vector<float> fixture_samples();

// Initialises GStreamer (once per process) and asserts that the plugin's
// `factory` is found in GST_PLUGIN_PATH.
void init_gstreamer(const char* factory);

// audio/x-raw caps of interleaved F32LE samples, as the elements take them.
GstCaps* raw_caps(int channels = 2, int rate = kRate);

// What left one source pad: samples, buffer timestamps and flags, events,
// recorded by a probe (add_recording_probe) in the streaming thread. A
// FLUSH_STOP clears it (it is then the first event).
struct PadRecording {
  std::mutex mutex;
  std::vector<float> samples;  // interleaved stereo
  std::vector<GstClockTime> pts;
  std::vector<GstClockTime> durations;
  std::vector<guint64> offsets;
  std::vector<int64_t> buffer_frames;
  std::vector<bool> discont;
  std::vector<std::string> events;           // in order
  std::vector<int64_t> frames_before_event;  // output frames before each event

  void clear();
  int64_t total_frames();
  bool saw(const std::string& event);
};

// Records the buffers and the events of type `events` (GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
// or GST_PAD_PROBE_TYPE_EVENT_BOTH for the upstream ones too) that pass `pad`.
void add_recording_probe(GstPad* pad, PadRecording* recording, GstPadProbeType events);

// Pushes EOS into the harness and waits until it came out.
void push_eos_and_wait(GstHarness* harness);

// Waits for EOS or an error on the pipeline's bus; returns the error's text,
// "" at EOS, or "timeout" after two minutes.
std::string wait_for_end(GstElement* pipeline);

}  // namespace demucs::testing
