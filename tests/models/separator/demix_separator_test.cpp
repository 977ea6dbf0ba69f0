// DemixSeparator against a whole-array port of the reference demix: the same
// numbers for every length around the padding and chunk boundaries, every
// piece size and batch size; the instrumental stem; latency and memory bounds;
// errors.
#include "fake_models.h"
#include "reference_demix.h"
#include "stream_runner.h"

#include "separator/demix_separator.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace demucs::testing {
namespace {

constexpr int kRate = 1000;

// MirrorModel on chunks of `chunk` frames: each output frame depends on its
// place in the chunk and on the mirrored frame, so a wrong start, padding or
// window shows.
std::shared_ptr<MirrorModel> mirror_model(std::int64_t chunk, std::vector<std::string> sources = {
                                                                  "drums", "bass", "other", "vocals"}) {
  return std::make_shared<MirrorModel>(kRate, static_cast<double>(chunk) / kRate, 1.0, 2, std::move(sources));
}

// A model whose output is `missing` frames shorter than its input, as
// Mel-Band RoFormer's ((frames - 1) * hop).
class ShortOutputModel : public SegmentModel {
 public:
  ShortOutputModel(std::shared_ptr<SegmentModel> inner, std::int64_t missing)
      : inner_(std::move(inner)), missing_(missing) {}
  const std::vector<std::string>& sources() const override { return inner_->sources(); }
  int samplerate() const override { return inner_->samplerate(); }
  int audio_channels() const override { return inner_->audio_channels(); }
  double segment_seconds() const override { return inner_->segment_seconds(); }
  at::Device device() const override { return inner_->device(); }
  at::Tensor forward(const at::Tensor& mix) override {
    const at::Tensor out = inner_->forward(mix);
    return out.narrow(-1, 0, out.size(-1) - missing_);
  }

 private:
  std::shared_ptr<SegmentModel> inner_;
  std::int64_t missing_;
};

DemixOptions demix_options(std::int64_t chunk, int num_overlap, int batch_size = 1,
                           std::vector<std::string> stems = {}) {
  DemixOptions options;
  options.chunk_size = chunk;
  options.num_overlap = num_overlap;
  options.batch_size = batch_size;
  options.threads = 1;
  options.stems = std::move(stems);
  return options;
}

// Pushes `mix` in pieces of exactly `piece` frames, pulling after each.
at::Tensor run_fixed_pieces(AudioSeparator& separator, const at::Tensor& mix, std::int64_t piece) {
  std::vector<at::Tensor> pulled;
  for (std::int64_t position = 0; position < mix.size(1); position += piece) {
    separator.push(mix.narrow(1, position, std::min(piece, mix.size(1) - position)));
    pulled.push_back(separator.pull());
    EXPECT_LE(separator.buffered_frames(), separator.max_buffered_frames());
  }
  separator.finish();
  pulled.push_back(separator.pull());
  return at::cat(pulled, -1);
}

void expect_close(const at::Tensor& expected, const at::Tensor& actual, double tolerance, const std::string& what) {
  ASSERT_EQ(expected.sizes(), actual.sizes()) << what;
  if (expected.numel() == 0) {
    return;
  }
  const double difference = (expected - actual).abs().max().item<double>();
  EXPECT_LE(difference, tolerance) << what << ": max abs difference " << difference;
}

struct Geometry {
  std::int64_t chunk;
  int num_overlap;
};

// Lengths around every boundary of a geometry: shorter than the border, at
// 2 * border (padding or not), one chunk, half a chunk, odd, long.
std::vector<std::int64_t> lengths_for(const Geometry& geometry) {
  const std::int64_t chunk = geometry.chunk;
  const std::int64_t border = chunk - chunk / geometry.num_overlap;
  std::vector<std::int64_t> lengths = {1, 2, 3, 7, chunk / 2, chunk / 2 + 1, chunk - 1, chunk, chunk + 1,
                                       2 * chunk + 3, 5 * chunk + 17, 11 * chunk - 1};
  for (const std::int64_t near : {border, 2 * border}) {
    for (const std::int64_t delta : {-1, 0, 1}) {
      if (near + delta > 0) {
        lengths.push_back(near + delta);
      }
    }
  }
  return lengths;
}

TEST(DemixSeparator, EqualsTheReferenceForEveryLengthAndPieceSize) {
  const std::vector<Geometry> geometries = {{100, 2}, {100, 4}, {100, 1}, {101, 3}, {60, 8}, {10, 2}};
  for (const Geometry& geometry : geometries) {
    auto model = mirror_model(geometry.chunk);
    for (const std::int64_t length : lengths_for(geometry)) {
      const at::Tensor mix = test_signal(2, length, static_cast<std::uint32_t>(length));
      const at::Tensor expected = reference_demix(*model, mix, geometry.chunk, geometry.num_overlap);
      for (const std::int64_t piece : {std::int64_t{1}, std::int64_t{7}, geometry.chunk, length}) {
        DemixSeparator separator(model, demix_options(geometry.chunk, geometry.num_overlap));
        const at::Tensor streamed = run_fixed_pieces(separator, mix, piece);
        SCOPED_TRACE("chunk " + std::to_string(geometry.chunk) + " overlap " +
                     std::to_string(geometry.num_overlap) + " length " + std::to_string(length) + " piece " +
                     std::to_string(piece));
        expect_same_numbers(expected, streamed);
      }
      DemixSeparator separator(model, demix_options(geometry.chunk, geometry.num_overlap));
      expect_same_numbers(expected, run_stream(separator, mix, 3 * geometry.chunk, 5));
    }
  }
}

TEST(DemixSeparator, TheFirstChunkKeepsItsFadeOutWhenItIsAlsoTheLast) {
  // One chunk: the reference's if / elif removes only the fade-in, so the
  // frames under the fade-out are weighted down but, alone, come back whole
  // except the very last frame of a full chunk (weight 0: 0 / 0 -> 0).
  auto model = std::make_shared<ScaleModel>(kRate, 0.1, 2, std::vector<std::string>{"vocals"});
  const at::Tensor mix = test_signal(2, 100, 3);
  DemixSeparator separator(model, demix_options(100, 1));
  const at::Tensor out = run_fixed_pieces(separator, mix, 100);
  expect_same_numbers(reference_demix(*model, mix, 100, 1), out);
  EXPECT_EQ(out.select(-1, 99).abs().max().item<float>(), 0.0F);
  expect_close(mix.narrow(1, 0, 99), out.select(0, 0).narrow(1, 0, 99), 1e-6, "scale 1");
}

TEST(DemixSeparator, NonOverlappingChunksGiveZerosWhereEveryWindowIsZero) {
  // num_overlap 1: no padding, and where a chunk's window starts (0) the one
  // before has ended (0): the reference's NaN -> 0.
  auto model = std::make_shared<ScaleModel>(kRate, 0.1, 2, std::vector<std::string>{"vocals"});
  const at::Tensor mix = test_signal(2, 350, 4);
  DemixSeparator separator(model, demix_options(100, 1));
  const at::Tensor out = run_fixed_pieces(separator, mix, 33);
  expect_same_numbers(reference_demix(*model, mix, 100, 1), out);
  // Chunks [0, 100) (no fade-in), [100, 200), [200, 300), [300, 350) (no fade-out).
  for (const std::int64_t zero_weight : {99, 100, 199, 200, 299, 300}) {
    EXPECT_EQ(out.select(-1, zero_weight).abs().max().item<float>(), 0.0F) << "frame " << zero_weight;
  }
  EXPECT_GT(out.select(-1, 150).abs().max().item<float>(), 0.0F);
}

TEST(DemixSeparator, ShortModelOutputCountsAsZerosAfterItsEnd) {
  auto model = std::make_shared<ShortOutputModel>(mirror_model(100), 9);
  for (const std::int64_t length : {std::int64_t{60}, std::int64_t{101}, std::int64_t{777}}) {
    const at::Tensor mix = test_signal(2, length, 8);
    DemixSeparator separator(model, demix_options(100, 2));
    expect_same_numbers(reference_demix(*model, mix, 100, 2), run_stream(separator, mix, 150, 9));
  }
}

TEST(DemixSeparator, BatchesGiveTheNumbersOfBatchOne) {
  auto model = mirror_model(100);
  const at::Tensor mix = test_signal(2, 1234, 10);
  const at::Tensor expected = reference_demix(*model, mix, 100, 4);
  const std::int64_t chunks = (1234 + 2 * 75 + 24) / 25;  // padded length 1384, step 25
  for (const int batch : {1, 2, 3, 8, 100}) {
    DemixSeparator separator(model, demix_options(100, 4, batch));
    expect_same_numbers(expected, run_stream(separator, mix, 200, static_cast<std::uint32_t>(batch)));
    EXPECT_EQ(separator.forward_calls(), (chunks + batch - 1) / batch) << "batch " << batch;
  }
  // The reference itself with batch_size 3 fades per batch (here: the first
  // chunk keeps its fade-in, the whole last batch loses its fade-outs): other
  // numbers, which DemixSeparator does not follow.
  const at::Tensor short_mix = mix.narrow(1, 0, 100);
  const at::Tensor short_expected = reference_demix(*model, short_mix, 100, 4);
  const at::Tensor batched_reference = reference_demix(*model, short_mix, 100, 4, 3);
  EXPECT_GT((batched_reference - short_expected).abs().max().item<double>(), 1e-2);
  DemixSeparator separator(model, demix_options(100, 4, 3));
  expect_same_numbers(short_expected, run_stream(separator, short_mix, 30, 4));
}

TEST(DemixSeparator, ChunksRunInBatchesOfTheRequestedSize) {
  auto model = mirror_model(100);
  DemixSeparator separator(model, demix_options(100, 2, 4));
  separator.push(test_signal(2, 1000, 11));
  for (const std::vector<std::int64_t>& shape : model->input_shapes()) {
    EXPECT_EQ(shape, (std::vector<std::int64_t>{4, 2, 100}));
  }
  EXPECT_GT(model->calls(), 0);
  separator.finish();
  EXPECT_LE(model->input_shapes().back()[0], 4);
}

TEST(DemixSeparator, InstrumentalIsTheMixMinusVocals) {
  auto model = mirror_model(100);
  const at::Tensor mix = test_signal(2, 543, 12);
  const at::Tensor reference = reference_demix(*model, mix, 100, 2);
  DemixSeparator separator(model, demix_options(100, 2, 1, {"instrumental", "bass", "vocals"}));
  EXPECT_EQ(separator.stems(), (std::vector<std::string>{"instrumental", "bass", "vocals"}));
  const at::Tensor out = run_stream(separator, mix, 90, 13);
  ASSERT_EQ(out.sizes(), (std::vector<std::int64_t>{3, 2, 543}));
  expect_same_numbers(mix - reference[3], out[0]);
  expect_same_numbers(reference[1], out[1]);
  expect_same_numbers(reference[3], out[2]);
  // Instrumental alone (vocals accumulated but not output), unpadded short mix too.
  for (const std::int64_t length : {std::int64_t{543}, std::int64_t{80}}) {
    const at::Tensor short_mix = mix.narrow(1, 0, length);
    DemixSeparator alone(model, demix_options(100, 2, 1, {"instrumental"}));
    const at::Tensor instrumental = run_stream(alone, short_mix, 40, 14);
    expect_same_numbers((short_mix - reference_demix(*model, short_mix, 100, 2)[3]).unsqueeze(0), instrumental);
  }
}

TEST(DemixSeparator, StemsDefaultToTheModelsSources) {
  DemixSeparator separator(mirror_model(100), demix_options(100, 2));
  EXPECT_EQ(separator.stems(), (std::vector<std::string>{"drums", "bass", "other", "vocals"}));
}

TEST(DemixSeparator, ChunkSizeZeroMeansTheModelsSegment) {
  DemixSeparator separator(mirror_model(120), demix_options(0, 2));
  EXPECT_EQ(separator.chunk_frames(), 120);
}

TEST(DemixSeparator, InterleavedPushEqualsPlanar) {
  auto model = mirror_model(100);
  const at::Tensor mix = test_signal(2, 333, 15);
  const at::Tensor interleaved = mix.t().contiguous();
  DemixSeparator separator(model, demix_options(100, 2));
  separator.push_interleaved(interleaved.data_ptr<float>(), 200, 2);
  separator.push_interleaved(interleaved.data_ptr<float>() + 400, 133, 2);
  separator.finish();
  expect_same_numbers(reference_demix(*model, mix, 100, 2), separator.pull());
}

TEST(DemixSeparator, ResetStartsAnewAndKeepsCountingForwardCalls) {
  auto model = mirror_model(100);
  const at::Tensor mix = test_signal(2, 400, 16);
  DemixSeparator separator(model, demix_options(100, 2));
  const at::Tensor first = run_stream(separator, mix, 64, 17);
  const std::int64_t calls = separator.forward_calls();
  EXPECT_EQ(calls, 10);  // padded 500, step 50
  separator.reset();
  EXPECT_FALSE(separator.finished());
  EXPECT_EQ(separator.frames_pushed(), 0);
  expect_same_numbers(first, run_stream(separator, mix, 300, 18));
  EXPECT_EQ(separator.forward_calls(), 2 * calls);
  EXPECT_EQ(separator.frames_pulled(), 400);
}

// Pushing a frame at a time, every frame is final `latency_frames()` frames
// later at the latest, and some frame takes exactly that long.
TEST(DemixSeparator, LatencyIsExact) {
  struct Case {
    std::int64_t chunk;
    int num_overlap;
    int batch;
  };
  for (const Case& c : {Case{20, 2, 1}, Case{20, 4, 1}, Case{20, 1, 1}, Case{20, 2, 3}, Case{30, 3, 2},
                        Case{20, 1, 2}, Case{40, 8, 1}}) {
    auto model = std::make_shared<ScaleModel>(kRate, c.chunk / static_cast<double>(kRate), 2,
                                              std::vector<std::string>{"vocals"});
    DemixSeparator separator(model, demix_options(c.chunk, c.num_overlap, c.batch));
    const at::Tensor mix = test_signal(2, 40 * c.chunk, 19);
    std::int64_t longest = 0;
    for (std::int64_t t = 0; t < mix.size(1); ++t) {
      separator.push(mix.narrow(1, t, 1));
      separator.pull();
      longest = std::max(longest, separator.frames_pushed() - separator.frames_pulled());
    }
    EXPECT_EQ(longest, separator.latency_frames())
        << "chunk " << c.chunk << " overlap " << c.num_overlap << " batch " << c.batch;
  }
}

TEST(DemixSeparator, TenMinutesStayWithinTheMemoryBound) {
  constexpr std::int64_t kSongRate = 44100;
  constexpr std::int64_t kLength = 600 * kSongRate;
  constexpr std::int64_t kChunk = 2 * kSongRate;
  auto model = std::make_shared<ScaleModel>(static_cast<int>(kSongRate), 2.0);
  DemixSeparator separator(model, demix_options(kChunk, 4, 2, {"vocals"}));
  const std::int64_t bound = separator.max_buffered_frames();
  EXPECT_EQ(bound, 2 * kChunk + kChunk / 4);

  std::mt19937 random(2025);
  std::uniform_int_distribution<std::int64_t> piece_size(1, 3 * kChunk);
  std::int64_t pushed = 0;
  std::int64_t pulled = 0;
  std::int64_t largest = 0;
  double worst_error = 0.0;
  const auto check = [&](const at::Tensor& out) {
    if (out.size(2) > 0) {
      // ScaleModel: vocals = 4 * mix, whatever the windows do around it.
      const at::Tensor t = at::arange(pulled, pulled + out.size(2), at::kDouble);
      const at::Tensor expected = at::stack({at::sin(t * 0.001), at::cos(t * 0.0007)}).to(at::kFloat) * 4.0;
      worst_error = std::max(worst_error, (out.select(0, 0) - expected).abs().max().item<double>());
    }
    pulled += out.size(2);
  };
  while (pushed < kLength) {
    const std::int64_t count = std::min(piece_size(random), kLength - pushed);
    const at::Tensor t = at::arange(pushed, pushed + count, at::kDouble);
    separator.push(at::stack({at::sin(t * 0.001), at::cos(t * 0.0007)}).to(at::kFloat));
    pushed += count;
    check(separator.pull());
    largest = std::max(largest, separator.buffered_frames());
    ASSERT_LE(separator.buffered_frames(), bound) << "after " << pushed << " frames";
  }
  separator.finish();
  check(separator.pull());
  EXPECT_EQ(pulled, kLength);
  EXPECT_EQ(separator.buffered_frames(), 0);
  EXPECT_LT(worst_error, 1e-5);
  EXPECT_GT(largest, kChunk);  // the bound is not loose by much
}

TEST(DemixSeparator, AWholeSongPushedAtOnceRunsInBoundedMemory) {
  auto model = mirror_model(100);
  const at::Tensor mix = test_signal(2, 5000, 20);
  DemixSeparator separator(model, demix_options(100, 2));
  separator.push(mix);
  // Everything but the latency is final, and only the output waits.
  EXPECT_LE(separator.buffered_frames() - separator.frames_ready(), separator.max_buffered_frames());
  separator.finish();
  expect_same_numbers(reference_demix(*model, mix, 100, 2), separator.pull());
}

TEST(DemixSeparator, RejectsBadOptionsNamingTheField) {
  auto model = mirror_model(100);
  const auto expect_invalid = [&](const DemixOptions& options, const std::string& field) {
    try {
      DemixSeparator separator(model, options);
      ADD_FAILURE() << "no error for " << field;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(field), std::string::npos) << error.what();
    }
  };
  expect_invalid(demix_options(9, 2), "chunk_size");
  expect_invalid(demix_options(-5, 2), "chunk_size");
  expect_invalid(demix_options(100, 0), "num_overlap");
  expect_invalid(demix_options(100, 101), "num_overlap");
  expect_invalid(demix_options(100, 2, 0), "batch_size");
  expect_invalid(demix_options(100, 2, 1, {"piano"}), "piano");
  expect_invalid(demix_options(100, 2, 1, {"bass", "bass"}), "bass");
  EXPECT_THROW(DemixSeparator(nullptr, demix_options(100, 2)), std::invalid_argument);
}

TEST(DemixSeparator, InstrumentalNeedsVocals) {
  auto model = mirror_model(100, {"drums", "bass"});
  try {
    DemixSeparator separator(model, demix_options(100, 2, 1, {"instrumental"}));
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("instrumental"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("valid: drums, bass)"), std::string::npos) << error.what();
  }
}

TEST(DemixSeparator, RejectsBadAudioAndPushAfterFinish) {
  DemixSeparator separator(mirror_model(100), demix_options(100, 2));
  EXPECT_THROW(separator.push(at::zeros({1, 10})), std::invalid_argument);
  EXPECT_THROW(separator.push(at::zeros({2, 10}, at::kInt)), std::invalid_argument);
  const float samples[6] = {};
  EXPECT_THROW(separator.push_interleaved(samples, 3, 1), std::invalid_argument);
  EXPECT_THROW(separator.push_interleaved(nullptr, 3, 2), std::invalid_argument);
  separator.finish();
  EXPECT_TRUE(separator.finished());
  EXPECT_NO_THROW(separator.finish());
  EXPECT_THROW(separator.push(at::zeros({2, 10})), std::logic_error);
}

TEST(DemixSeparator, AModelOfTheWrongShapeIsAnError) {
  auto model = std::make_shared<BrokenModel>(kRate, 0.1);
  DemixSeparator separator(model, demix_options(100, 2));
  separator.push(test_signal(2, 50, 21));
  EXPECT_THROW(separator.finish(), std::runtime_error);
}

TEST(DemixSeparator, AnEmptyStreamGivesNoFrames) {
  auto model = mirror_model(100);
  DemixSeparator separator(model, demix_options(100, 2));
  separator.finish();
  const at::Tensor out = separator.pull();
  EXPECT_EQ(out.sizes(), (std::vector<std::int64_t>{4, 2, 0}));
  EXPECT_EQ(model->calls(), 0);
}

}  // namespace
}  // namespace demucs::testing
