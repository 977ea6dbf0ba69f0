// The element's GStreamer-free parts: one stem as a stream (StemStream) and
// the ordered, bounded queue between the streaming thread and the task
// (SeparationWorker), with the tiny test model.
#include "gst-plugin/separation_worker.h"
#include "demucs/demucs.h"
#include "loading/stem_model.h"
#include "separator/separate.h"
#include "support/interleaved_audio.h"
#include "support/npy_file.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/wav_file.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>
#include <map>
#include <vector>

namespace demucs {
namespace {

using testing::interleaved;
using testing::planar_stereo;
using testing::read_npy;
using testing::read_wav;
using testing::snr_db;
using testing::test_data;

constexpr double kMinSnrDb = 80.0;

LoadedModel tiny_model(const std::string& stem, const std::string& file = "htdemucs-tiny-4s.th") {
  LoadOptions options;
  options.device = "cpu";
  return load_model(test_data(file), stem, options);
}

at::Tensor fixture_mix() { return read_wav(test_data("mix.wav")).samples; }

// The first 2.5 s: shorter than the mix but over a segment (2 s for the tiny
// models), for comparisons that need a second separation.
at::Tensor short_mix() { return fixture_mix().narrow(1, 0, 110250).contiguous(); }

// Streams `input` (interleaved, `channels`) in pieces of `piece` frames.
at::Tensor run_stream(StemStream& stream, const std::vector<float>& input, int channels, int64_t piece) {
  std::vector<float> out;
  const auto frames = static_cast<int64_t>(input.size()) / channels;
  for (int64_t pos = 0; pos < frames; pos += piece) {
    const int64_t n = std::min(piece, frames - pos);
    stream.push(input.data() + pos * channels, n, channels);
    const auto done = stream.pull();
    out.insert(out.end(), done.begin(), done.end());
  }
  stream.finish();
  const auto rest = stream.pull();
  out.insert(out.end(), rest.begin(), rest.end());
  return planar_stereo(out);
}

TEST(StemStream, VocalsMatchUpstream) {
  StemStream stream(tiny_model("vocals"), SeparatorOptions{});
  const at::Tensor out = run_stream(stream, interleaved(fixture_mix()), 2, 10000);
  const at::Tensor expected = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"))[1];
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, out), kMinSnrDb);
  EXPECT_EQ(stream.frames_pulled(), 264600);
}

TEST(StemStream, InstrumentalIsTheSumOfTheOtherSources) {
  const LoadedModel model = tiny_model("instrumental");
  EXPECT_EQ(model.parts().separate, (std::vector<std::string>{"drums", "bass", "other"}));
  StemStream stream(model, SeparatorOptions{});
  const at::Tensor mix = short_mix();
  const at::Tensor out = run_stream(stream, interleaved(mix), 2, 44100);
  SeparatorOptions options;
  options.stems = {"drums", "bass", "other"};
  const at::Tensor expected = separate(model.parts().bag, mix, options).sum(0);
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, out), kMinSnrDb);
}

TEST(StemStream, MonoIsDuplicatedToStereo) {
  const LoadedModel model = tiny_model("vocals");
  StemStream stream(model, SeparatorOptions{});
  const at::Tensor mono = short_mix()[0].unsqueeze(0);
  const at::Tensor out = run_stream(stream, interleaved(mono), 1, 30000);
  SeparatorOptions options;
  options.stems = {"vocals"};
  const at::Tensor expected = separate(model.parts().bag, mono.expand({2, -1}).contiguous(), options)[0];
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_GE(snr_db(expected, out), kMinSnrDb);
}

TEST(StemStream, BadOptionsAreRejected) {
  SeparatorOptions options;
  options.overlap = 1.5;
  EXPECT_THROW(StemStream(tiny_model("vocals"), options), std::invalid_argument);
  options = {};
  options.segment = 100.0;  // longer than the model's own
  EXPECT_THROW(StemStream(tiny_model("vocals"), options), std::invalid_argument);
}

LoadedModel tiny_all_stems(const std::string& file = "htdemucs-tiny-4s.th") {
  LoadOptions options;
  options.device = "cpu";
  return load_model(test_data(file), std::vector<std::string>{}, options);
}

TEST(StemStream, AllStemsAreTheModelsSourcesThenInstrumental) {
  EXPECT_EQ(tiny_all_stems().stems(), (std::vector<std::string>{"drums", "bass", "other", "vocals", "instrumental"}));
  EXPECT_EQ(tiny_all_stems("htdemucs-tiny-6s.th").stems(),
            (std::vector<std::string>{"drums", "bass", "other", "vocals", "guitar", "piano", "instrumental"}));
  LoadOptions options;
  options.device = "cpu";
  EXPECT_THROW(load_model(test_data("htdemucs-tiny-4s.th"), std::vector<std::string>{"vocals", "vocals"}, options),
               std::invalid_argument);
}

// Every stem from one stream equals upstream's (drums and vocals of the 4-source
// model, vocals and guitar of the 6-source one) and the single-stem stream's.
TEST(StemStream, AllStemsFromOneStreamMatchUpstreamAndSingleStems) {
  struct Case {
    std::string file, npy;
    std::vector<std::string> npy_stems;
  };
  for (const Case& c : {Case{"htdemucs-tiny-4s.th", "tiny-4s.apply.drums-vocals.npy", {"drums", "vocals"}},
                        Case{"htdemucs-tiny-6s.th", "tiny-6s.apply.vocals-guitar.npy", {"vocals", "guitar"}}}) {
    StemStream stream(tiny_all_stems(c.file), SeparatorOptions{});
    const std::vector<float> input = interleaved(fixture_mix());
    std::vector<std::vector<float>> out(stream.stems().size());
    const int64_t frames = static_cast<int64_t>(input.size()) / 2;
    auto collect = [&] {
      auto done = stream.pull_stems();
      for (size_t i = 0; i < done.size(); ++i) out[i].insert(out[i].end(), done[i].begin(), done[i].end());
    };
    for (int64_t pos = 0; pos < frames; pos += 30000) {
      stream.push(input.data() + pos * 2, std::min<int64_t>(30000, frames - pos), 2);
      collect();
    }
    stream.finish();
    collect();
    const at::Tensor expected = read_npy(test_data(c.npy));
    for (size_t k = 0; k < c.npy_stems.size(); ++k) {
      const auto index = std::find(stream.stems().begin(), stream.stems().end(), c.npy_stems[k]) - stream.stems().begin();
      const at::Tensor got = planar_stereo(out[static_cast<size_t>(index)]);
      ASSERT_EQ(got.sizes(), expected[static_cast<int64_t>(k)].sizes()) << c.file << " " << c.npy_stems[k];
      EXPECT_GE(snr_db(expected[static_cast<int64_t>(k)], got), kMinSnrDb) << c.file << " " << c.npy_stems[k];
    }
    // The instrumental of the all-stems stream is the single-stem one.
    LoadOptions options;
    options.device = "cpu";
    StemStream single(load_model(test_data(c.file), "instrumental", options), SeparatorOptions{});
    const at::Tensor instrumental = run_stream(single, input, 2, 44100);
    EXPECT_GE(snr_db(instrumental, planar_stereo(out.back())), kMinSnrDb) << c.file;
  }
}

TEST(StemStream, AnUnwantedStemComesBackEmpty) {
  StemStream stream(tiny_all_stems(), SeparatorOptions{});
  stream.set_stem_wanted(0, false);
  const std::vector<float> input = interleaved(short_mix());
  stream.push(input.data(), static_cast<int64_t>(input.size()) / 2, 2);
  stream.finish();
  const auto stems = stream.pull_stems();
  ASSERT_EQ(stems.size(), 5u);
  EXPECT_TRUE(stems[0].empty());
  EXPECT_EQ(stems[3].size(), input.size());
}

// --- SeparationWorker ---

class NumberedMarker : public SeparationWorker::Marker {
 public:
  explicit NumberedMarker(int number) : number(number) {}
  int number;
};

std::unique_ptr<SeparationWorker> tiny_worker(int64_t capacity) {
  auto stream = std::make_unique<StemStream>(tiny_model("vocals"), SeparatorOptions{});
  return std::make_unique<SeparationWorker>(std::move(stream), capacity);
}

// What came out: audio frame counts and marker numbers, in order.
struct Drained {
  std::vector<std::string> sequence;  // "a<frames>", "m<number>", "end"
  std::vector<float> audio;
  std::map<int, int64_t> frames_before_marker;  // by marker number
};

Drained drain(SeparationWorker& worker) {
  Drained drained;
  int64_t frames = 0;
  bool ended = false;
  while (!ended) {
    std::vector<SeparationWorker::Output> outputs;
    EXPECT_TRUE(worker.process_next(outputs));
    for (auto& output : outputs) {
      switch (output.kind) {
        case SeparationWorker::Output::Kind::audio: {
          const auto n = output.frames;
          EXPECT_EQ(output.first_frame, frames);
          frames += n;
          drained.sequence.push_back("a" + std::to_string(n));
          drained.audio.insert(drained.audio.end(), output.stems[0].begin(), output.stems[0].end());
          break;
        }
        case SeparationWorker::Output::Kind::marker: {
          const int number = static_cast<NumberedMarker&>(*output.marker).number;
          drained.sequence.push_back("m" + std::to_string(number));
          drained.frames_before_marker[number] = frames;
          if (number == 99) ended = true;  // the end's marker comes last
          break;
        }
        case SeparationWorker::Output::Kind::end:
          drained.sequence.push_back("end");
          break;
        case SeparationWorker::Output::Kind::restart:
          drained.sequence.push_back("restart");
          frames = 0;  // the next stream starts at its frame 0
          break;
      }
    }
  }
  return drained;
}

TEST(SeparationWorker, MarkersComeOutRightAfterTheAudioBeforeThem) {
  auto worker = tiny_worker(1 << 20);
  const std::vector<float> mix = interleaved(short_mix());
  const int64_t frames = static_cast<int64_t>(mix.size()) / 2;
  ASSERT_EQ(worker->push_marker(std::make_unique<NumberedMarker>(0)), SeparationWorker::PushResult::accepted);
  const int64_t first = 70001;  // not a multiple of the stride
  worker->push_audio(mix.data(), first, 2);
  worker->push_marker(std::make_unique<NumberedMarker>(1));
  worker->push_marker(std::make_unique<NumberedMarker>(2));
  worker->push_audio(mix.data() + first * 2, frames - first, 2);
  worker->push_marker(std::make_unique<NumberedMarker>(3));
  ASSERT_EQ(worker->push_end(std::make_unique<NumberedMarker>(99)), SeparationWorker::PushResult::accepted);
  const Drained drained = drain(*worker);

  EXPECT_EQ(drained.sequence.front(), "m0");
  EXPECT_EQ(drained.frames_before_marker.at(0), 0);
  EXPECT_EQ(drained.frames_before_marker.at(1), first);
  EXPECT_EQ(drained.frames_before_marker.at(2), first);
  EXPECT_EQ(drained.frames_before_marker.at(3), frames);
  EXPECT_EQ(drained.frames_before_marker.at(99), frames);
  // m1 then m2, both between two pieces of audio; end before the end's marker.
  const auto m1 = std::find(drained.sequence.begin(), drained.sequence.end(), "m1");
  ASSERT_NE(m1, drained.sequence.end());
  EXPECT_EQ(*(m1 + 1), "m2");
  const size_t n = drained.sequence.size();
  EXPECT_EQ(drained.sequence[n - 3], "m3");
  EXPECT_EQ(drained.sequence[n - 2], "end");
  EXPECT_EQ(drained.sequence[n - 1], "m99");
  // Splitting the audio changed nothing in it.
  StemStream whole(tiny_model("vocals"), SeparatorOptions{});
  const at::Tensor expected = run_stream(whole, mix, 2, frames);
  const at::Tensor out = planar_stereo(drained.audio);
  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_TRUE(at::equal(out, expected));
  EXPECT_EQ(worker->frames_output(), frames);
}

TEST(SeparationWorker, SilenceCountsAsInputFrames) {
  auto worker = tiny_worker(1 << 20);
  worker->push_silence(5000);
  worker->push_marker(std::make_unique<NumberedMarker>(1));
  worker->push_silence(3000);
  worker->push_end(std::make_unique<NumberedMarker>(99));
  const Drained drained = drain(*worker);
  EXPECT_EQ(drained.frames_before_marker.at(1), 5000);
  ASSERT_EQ(drained.audio.size(), 8000u * 2);
  EXPECT_EQ(*std::max_element(drained.audio.begin(), drained.audio.end()), 0.0f);
  EXPECT_EQ(*std::min_element(drained.audio.begin(), drained.audio.end()), 0.0f);
}

TEST(SeparationWorker, EmptyStreamEndsWithNoAudio) {
  auto worker = tiny_worker(1000);
  worker->push_end(std::make_unique<NumberedMarker>(99));
  const Drained drained = drain(*worker);
  EXPECT_EQ(drained.sequence, (std::vector<std::string>{"end", "m99"}));
}

TEST(SeparationWorker, ProducerBlocksWhileTheQueueIsFull) {
  auto worker = tiny_worker(1000);
  const std::vector<float> piece(2 * 800, 0.1f);
  ASSERT_EQ(worker->push_audio(piece.data(), 800, 2), SeparationWorker::PushResult::accepted);
  EXPECT_EQ(worker->frames_queued(), 800);
  // 800 + 800 > 1000: the second push waits for the consumer.
  auto second = std::async(std::launch::async, [&] { return worker->push_audio(piece.data(), 800, 2); });
  EXPECT_EQ(second.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  std::vector<SeparationWorker::Output> outputs;
  ASSERT_TRUE(worker->process_next(outputs));
  ASSERT_EQ(second.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(second.get(), SeparationWorker::PushResult::accepted);
  EXPECT_EQ(worker->frames_queued(), 800);
}

TEST(SeparationWorker, FlushingWakesBothSidesAndResetStartsAFreshStream) {
  auto worker = tiny_worker(1000);
  const std::vector<float> piece(2 * 1000, 0.1f);
  worker->push_audio(piece.data(), 1000, 2);
  auto blocked = std::async(std::launch::async, [&] { return worker->push_audio(piece.data(), 1000, 2); });
  EXPECT_EQ(blocked.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  worker->set_flushing(true);
  ASSERT_EQ(blocked.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(blocked.get(), SeparationWorker::PushResult::flushing);
  std::vector<SeparationWorker::Output> outputs;
  EXPECT_FALSE(worker->process_next(outputs));
  EXPECT_TRUE(outputs.empty());

  worker->reset();
  worker->set_flushing(false);
  EXPECT_EQ(worker->frames_queued(), 0);
  // The fresh stream gives the same output as a new worker would.
  const std::vector<float> mix = interleaved(fixture_mix());
  worker->push_audio(mix.data(), static_cast<int64_t>(mix.size()) / 2, 2);
  worker->push_end(std::make_unique<NumberedMarker>(99));
  const Drained drained = drain(*worker);
  const at::Tensor expected = read_npy(test_data("tiny-4s.apply.drums-vocals.npy"))[1];
  EXPECT_GE(snr_db(expected, planar_stereo(drained.audio)), kMinSnrDb);
}

// A restart drains the stream before it (every frame out, then the markers),
// and the audio after it is a fresh separation counted from frame 0.
TEST(SeparationWorker, RestartDrainsThenStartsAFreshStreamAtFrameZero) {
  auto worker = tiny_worker(1 << 20);
  const std::vector<float> mix = interleaved(short_mix());
  const int64_t frames = static_cast<int64_t>(mix.size()) / 2;
  ASSERT_EQ(worker->push_audio(mix.data(), frames, 2), SeparationWorker::PushResult::accepted);
  ASSERT_EQ(worker->push_marker(std::make_unique<NumberedMarker>(1)), SeparationWorker::PushResult::accepted);
  ASSERT_EQ(worker->push_restart(std::make_unique<NumberedMarker>(2)), SeparationWorker::PushResult::accepted);
  ASSERT_EQ(worker->push_audio(mix.data(), frames, 2), SeparationWorker::PushResult::accepted);
  ASSERT_EQ(worker->push_marker(std::make_unique<NumberedMarker>(3)), SeparationWorker::PushResult::accepted);
  ASSERT_EQ(worker->push_end(std::make_unique<NumberedMarker>(99)), SeparationWorker::PushResult::accepted);
  const Drained drained = drain(*worker);
  const auto restart = std::find(drained.sequence.begin(), drained.sequence.end(), "restart");
  ASSERT_NE(restart, drained.sequence.end());
  EXPECT_EQ(*(restart - 1), "m1");
  EXPECT_EQ(*(restart + 1), "m2");
  EXPECT_EQ(drained.frames_before_marker.at(1), frames);
  EXPECT_EQ(drained.frames_before_marker.at(2), 0);
  EXPECT_EQ(drained.frames_before_marker.at(3), frames);
  ASSERT_EQ(drained.audio.size(), 2 * mix.size());
  // Both streams separate the same audio from scratch: the same output.
  const at::Tensor first = planar_stereo(std::vector<float>(drained.audio.begin(), drained.audio.begin() + mix.size()));
  const at::Tensor second = planar_stereo(std::vector<float>(drained.audio.begin() + mix.size(), drained.audio.end()));
  EXPECT_GE(snr_db(first, second), kMinSnrDb);
}

TEST(SeparationWorker, NothingIsAcceptedAfterTheEnd) {
  auto worker = tiny_worker(1000);
  EXPECT_EQ(worker->push_end(nullptr), SeparationWorker::PushResult::accepted);
  const std::vector<float> piece(2 * 10, 0.1f);
  EXPECT_EQ(worker->push_audio(piece.data(), 10, 2), SeparationWorker::PushResult::ended);
  EXPECT_EQ(worker->push_marker(std::make_unique<NumberedMarker>(1)), SeparationWorker::PushResult::ended);
}

}  // namespace
}  // namespace demucs
