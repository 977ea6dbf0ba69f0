// The streaming separator against a direct port of upstream apply_model: the
// same float32 numbers for every length, overlap, piece size, shift, batch size,
// bag and stem selection.
#include "fake_models.h"
#include "reference_apply_model.h"
#include "stream_runner.h"

#include "separator/python_random.h"
#include "separator/separate.h"
#include "separator/stream_separator.h"

#include "support/test_data.h"
#include "support/wav_file.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>
#include <tuple>

namespace demucs::testing {
namespace {

// 200 Hz, 0.5 s segments: 100 frames per segment, max_shift 100.
constexpr int kRate = 200;
constexpr double kSegmentSeconds = 0.5;
constexpr std::int64_t kSegment = 100;
constexpr std::int64_t kThreeSeconds = 3 * kRate;

at::Tensor reference(SegmentModel& model, const at::Tensor& mix, const ReferenceOptions& options,
                     std::uint64_t seed = 0) {
  PythonRandom random(seed);
  return reference_apply_model(model, mix.unsqueeze(0), random, options).squeeze(0);
}

class LengthAndOverlap : public ::testing::TestWithParam<std::tuple<std::int64_t, double>> {};

TEST_P(LengthAndOverlap, MatchesUpstreamArithmetic) {
  const auto [length, overlap] = GetParam();
  const at::Tensor mix = test_signal(2, length, 11);
  auto model = std::make_shared<MirrorModel>(kRate, kSegmentSeconds);
  SeparatorOptions options;
  options.overlap = overlap;
  StreamSeparator separator(model, options);
  const at::Tensor streamed = run_stream(separator, mix, kThreeSeconds, 5);
  ASSERT_EQ(streamed.sizes(), (std::vector<std::int64_t>{4, 2, length}));
  if (length == 0) {
    EXPECT_EQ(model->calls(), 0);
    return;
  }
  const int streamed_calls = model->calls();
  ReferenceOptions upstream;
  upstream.overlap = overlap;
  const at::Tensor expected = reference(*model, mix, upstream);
  expect_same_numbers(expected, streamed);
  // One forward per chunk of upstream, each on a whole segment.
  EXPECT_EQ(2 * streamed_calls, model->calls());
  for (const auto& shape : model->input_shapes()) {
    EXPECT_EQ(shape, (std::vector<std::int64_t>{1, 2, kSegment}));
  }
}

INSTANTIATE_TEST_SUITE_P(Separator, LengthAndOverlap,
                         ::testing::Combine(::testing::Values<std::int64_t>(0, 1, kSegment - 1, kSegment,
                                                                            kSegment + 1, 370),
                                            ::testing::Values(0.0, 0.25, 0.5, 0.9)));

TEST(StreamSeparator, LastShortChunkSeesTheAudioBeforeIt) {
  // 130 frames, overlap 0.25: chunks at 0 (100 frames), 75 (55 frames, the model
  // sees frames 53..153: 22 frames of real audio before it, 23 zeros after).
  const at::Tensor mix = test_signal(2, 130, 3);
  auto model = std::make_shared<MirrorModel>(kRate, kSegmentSeconds);
  StreamSeparator separator(model, SeparatorOptions{});
  separator.push(mix);
  EXPECT_EQ(model->calls(), 1);
  separator.finish();
  ASSERT_EQ(model->calls(), 2);
  const at::Tensor out = separator.pull();
  // Frame 129 is covered by the last chunk alone (weights: frame 129 - 75 = 54).
  // In the model's 100-frame input it sits at 54 + 22 = 76, mirrored at 23 = frame 76 of the mix.
  const at::Tensor expected_last = mix.select(1, 129) * 4.0 + mix.select(1, 76) * 0.25 +
                                   mix.roll({-1}, {0}).select(1, 129) * 0.1 + 0.004 * 77 / 100.0;
  EXPECT_TRUE(at::allclose(out.select(0, 3).select(1, 129), expected_last, 1e-5, 1e-6))
      << out.select(0, 3).select(1, 129) << expected_last;
  expect_same_numbers(reference(*model, mix, ReferenceOptions{}), out);
}

TEST(StreamSeparator, ShiftsWithSeedMatchUpstream) {
  for (const std::int64_t length : {1L, 99L, 250L, 370L}) {
    for (const double overlap : {0.25, 0.9}) {
      const at::Tensor mix = test_signal(2, length, 21);
      auto model = std::make_shared<MirrorModel>(kRate, kSegmentSeconds);
      SeparatorOptions options;
      options.overlap = overlap;
      options.shifts = 2;
      options.seed = 1234;
      StreamSeparator separator(model, options);
      const at::Tensor streamed = run_stream(separator, mix, kThreeSeconds, 8);
      ReferenceOptions upstream;
      upstream.overlap = overlap;
      upstream.shifts = 2;
      SCOPED_TRACE("length " + std::to_string(length) + " overlap " + std::to_string(overlap));
      expect_same_numbers(reference(*model, mix, upstream, 1234), streamed);
    }
  }
}

TEST(StreamSeparator, SeedChangesTheShiftedResultAndIsRepeatable) {
  const at::Tensor mix = test_signal(2, 300, 2);
  auto model = std::make_shared<MirrorModel>(kRate, kSegmentSeconds);
  SeparatorOptions options;
  options.shifts = 3;
  options.seed = 7;
  const at::Tensor first = separate(model, mix, options);
  const at::Tensor again = separate(model, mix, options);
  options.seed = 8;
  const at::Tensor other = separate(model, mix, options);
  expect_same_numbers(first, again);
  EXPECT_GT((first - other).abs().max().item<double>(), 1e-4);
}

TEST(StreamSeparator, BatchSizeChangesNoNumber) {
  const at::Tensor mix = test_signal(2, 1234, 4);
  auto single = std::make_shared<MirrorModel>(kRate, kSegmentSeconds);
  auto batched = std::make_shared<MirrorModel>(kRate, kSegmentSeconds);
  SeparatorOptions options;
  options.shifts = 2;
  options.seed = 99;
  StreamSeparator one(single, options);
  options.batch_size = 3;
  StreamSeparator three(batched, options);
  const at::Tensor out_one = run_stream(one, mix, kThreeSeconds, 1);
  const at::Tensor out_three = run_stream(three, mix, kThreeSeconds, 1);
  expect_same_numbers(out_one, out_three);
  // Same chunks, fewer calls: every call but the last (at finish) holds 3 chunks.
  std::int64_t chunks = 0;
  for (std::size_t i = 0; i < batched->input_shapes().size(); ++i) {
    const auto& shape = batched->input_shapes()[i];
    chunks += shape[0];
    if (i + 1 < batched->input_shapes().size()) {
      EXPECT_EQ(shape[0], 3);
    }
  }
  EXPECT_EQ(chunks, single->calls());
  EXPECT_LT(batched->calls(), single->calls());
  ReferenceOptions upstream;
  upstream.shifts = 2;
  expect_same_numbers(reference(*single, mix, upstream, 99), out_three);
}

TEST(StreamSeparator, SegmentOverrideAndTransitionPower) {
  const at::Tensor mix = test_signal(2, 333, 6);
  auto model = std::make_shared<MirrorModel>(kRate, kSegmentSeconds);
  SeparatorOptions options;
  options.segment = 0.3;  // 60 frames, shorter than the model's 100
  options.transition_power = 2.0;
  options.overlap = 0.5;
  StreamSeparator separator(model, options);
  const at::Tensor streamed = run_stream(separator, mix, 50, 3);
  for (const auto& shape : model->input_shapes()) {
    EXPECT_EQ(shape, (std::vector<std::int64_t>{1, 2, 60}));
  }
  ReferenceOptions upstream;
  upstream.segment = 0.3;
  upstream.transition_power = 2.0;
  upstream.overlap = 0.5;
  expect_same_numbers(reference(*model, mix, upstream), streamed);
}

TEST(StreamSeparator, StemsComeInTheRequestedOrder) {
  const at::Tensor mix = test_signal(2, 260, 9);
  auto model = std::make_shared<MirrorModel>(kRate, kSegmentSeconds);
  SeparatorOptions options;
  options.stems = {"vocals", "drums"};
  StreamSeparator separator(model, options);
  EXPECT_EQ(separator.stems(), (std::vector<std::string>{"vocals", "drums"}));
  const at::Tensor streamed = run_stream(separator, mix, 77, 4);
  const at::Tensor all = reference(*model, mix, ReferenceOptions{});
  expect_same_numbers(at::stack({all.select(0, 3), all.select(0, 0)}), streamed);
}

TEST(StreamSeparator, InterleavedPushEqualsPlanarPush) {
  const at::Tensor mix = test_signal(2, 345, 10);
  auto model = std::make_shared<MirrorModel>(kRate, kSegmentSeconds);
  const at::Tensor interleaved = mix.t().contiguous();
  StreamSeparator separator(model, SeparatorOptions{});
  const float* samples = interleaved.data_ptr<float>();
  std::vector<at::Tensor> pulled;
  for (std::int64_t position = 0; position < 345; position += 37) {
    const std::int64_t count = std::min<std::int64_t>(37, 345 - position);
    separator.push_interleaved(samples + 2 * position, count, 2);
    pulled.push_back(separator.pull());
  }
  separator.finish();
  pulled.push_back(separator.pull());
  expect_same_numbers(separate(model, mix), at::cat(pulled, -1));
}

TEST(StreamSeparator, EmptyStreamGivesEmptyOutput) {
  auto model = std::make_shared<MirrorModel>(kRate, kSegmentSeconds);
  SeparatorOptions options;
  options.shifts = 2;
  StreamSeparator separator(model, options);
  separator.push(at::empty({2, 0}));
  separator.finish();
  const at::Tensor out = separator.pull();
  EXPECT_EQ(out.sizes(), (std::vector<std::int64_t>{4, 2, 0}));
  EXPECT_EQ(model->calls(), 0);
  EXPECT_EQ(separate(model, at::empty({2, 0}), options).sizes(),
            (std::vector<std::int64_t>{4, 2, 0}));
}

TEST(StreamSeparator, ResetStartsTheSameStreamAgain) {
  const at::Tensor mix = test_signal(2, 420, 12);
  auto model = std::make_shared<MirrorModel>(kRate, kSegmentSeconds);
  SeparatorOptions options;
  options.shifts = 1;
  options.seed = 3;
  StreamSeparator separator(model, options);
  separator.push(test_signal(2, 150, 99));  // a stream that is dropped (flush)
  separator.pull();
  separator.reset();
  EXPECT_EQ(separator.frames_pushed(), 0);
  const at::Tensor out = run_stream(separator, mix, 100, 2);
  expect_same_numbers(separate(model, mix, options), out);
}

TEST(StreamSeparator, RealAudioAt44100MatchesUpstream) {
  const WavAudio audio = read_wav(test_data("mix.wav"));
  ASSERT_EQ(audio.samples.sizes(), (std::vector<std::int64_t>{2, 264600}));
  auto model = std::make_shared<MirrorModel>(44100, 2.0);
  SeparatorOptions options;
  options.stems = {"drums", "vocals"};
  StreamSeparator separator(model, options);
  const at::Tensor streamed = run_stream(separator, audio.samples, 3 * 44100, 17);
  const at::Tensor all = reference(*model, audio.samples, ReferenceOptions{});
  expect_same_numbers(at::stack({all.select(0, 0), all.select(0, 3)}), streamed);
  expect_same_numbers(streamed, separate(model, audio.samples, options));
}

TEST(StreamSeparator, ModelOnCudaGivesTheNumbersOfTheCpu) {
  if (!at::hasCUDA()) {
    GTEST_SKIP() << "this LibTorch has no CUDA device";
  }
  const at::Tensor mix = test_signal(2, 370, 13);
  auto model = std::make_shared<MirrorModel>(kRate, kSegmentSeconds);
  SeparatorOptions options;
  options.shifts = 2;
  options.batch_size = 2;
  const at::Tensor on_cpu = separate(model, mix, options);
  model->set_device(at::Device(at::kCUDA, 0));
  const at::Tensor on_cuda = separate(model, mix, options);
  EXPECT_EQ(on_cuda.device(), at::Device(at::kCPU));
  EXPECT_TRUE(at::allclose(on_cpu, on_cuda, 1e-6, 1e-6));
}

}  // namespace
}  // namespace demucs::testing
