// The parts of the separator: Python's random numbers, the chunk plan, the
// frame queue, the thread count.
#include "fake_models.h"

#include "separator/chunk_plan.h"
#include "separator/compute_threads.h"
#include "separator/frame_queue.h"
#include "separator/python_random.h"
#include "separator/shift_schedule.h"
#include "separator/stream_separator.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

namespace demucs::testing {
namespace {

std::vector<std::int64_t> randints(PythonRandom& random, int count, std::int64_t low,
                                   std::int64_t high) {
  std::vector<std::int64_t> values;
  for (int i = 0; i < count; ++i) {
    values.push_back(random.randint(low, high));
  }
  return values;
}

// Values printed by /usr/bin/python3 (CPython 3.11), e.g.
// python3 -c "import random; random.seed(42); print([random.randint(0, 22050) for _ in range(5)])"
TEST(PythonRandom, RandintMatchesCPython) {
  PythonRandom random(42);
  EXPECT_EQ(randints(random, 5, 0, 22050), (std::vector<std::int64_t>{20952, 3648, 819, 9012, 8024}));
  random.seed(0);
  EXPECT_EQ(randints(random, 5, 0, 22050), (std::vector<std::int64_t>{12623, 13781, 1326, 8484, 16753}));
  random.seed((1ULL << 40) + 7);  // two-word key
  EXPECT_EQ(randints(random, 3, 0, 22050), (std::vector<std::int64_t>{20109, 20955, 18690}));
  random.seed(~0ULL);
  EXPECT_EQ(randints(random, 3, 0, 1000000), (std::vector<std::int64_t>{22885, 260863, 354518}));
  random.seed(12345);  // range 9: rejection sampling on 4 bits
  EXPECT_EQ(randints(random, 8, 0, 8), (std::vector<std::int64_t>{6, 0, 4, 5, 3, 4, 6, 2}));
}

TEST(PythonRandom, StateRegenerationAndWideDraws) {
  PythonRandom random(42);
  const std::vector<std::int64_t> values = randints(random, 1000, 0, 22050);
  EXPECT_EQ(values[623], 2640);
  EXPECT_EQ(values[624], 4534);
  EXPECT_EQ(values[625], 4942);
  EXPECT_EQ(values[999], 11401);
  random.seed(42);
  EXPECT_EQ(random.getrandbits(32), 2746317213U);
  EXPECT_EQ(random.getrandbits(32), 478163327U);
  EXPECT_EQ(random.getrandbits(32), 107420369U);
  random.seed(3);
  EXPECT_EQ(random.getrandbits(40), 649562111997ULL);
  EXPECT_EQ(random.getrandbits(40), 144071367498ULL);
  EXPECT_EQ(random.getrandbits(40), 1006611292580ULL);
  EXPECT_EQ(random.getrandbits(64), 8744744311366254845ULL);
  EXPECT_EQ(random.getrandbits(64), 10714829862921516198ULL);
  random.seed(5);
  EXPECT_EQ(randints(random, 3, 0, 0), (std::vector<std::int64_t>{0, 0, 0}));  // still draws
  EXPECT_EQ(random.getrandbits(32), 3609267711U);
}

TEST(ShiftSchedule, DrawsModelByModelShiftByShift) {
  auto model = std::make_shared<MirrorModel>(44100, 1.0);
  const ModelBag bag{{model, {}}, {model, {}}};
  const auto delays = shift_delays(bag, 3, 42);
  // random.seed(42): randint(0, 22050) -> 20952, 3648, 819, 9012, 8024, ...
  ASSERT_EQ(delays.size(), 2U);
  EXPECT_EQ(delays[0], (std::vector<std::int64_t>{22050 - 20952, 22050 - 3648, 22050 - 819}));
  EXPECT_EQ(delays[1][0], 22050 - 9012);
  EXPECT_EQ(delays[1][1], 22050 - 8024);
  EXPECT_EQ(shift_delays(bag, 0, 42), (std::vector<std::vector<std::int64_t>>{{0}, {0}}));
}

TEST(ChunkPlan, TriangleWeightsAsUpstream) {
  // torch: (cat([arange(1, n//2+1), arange(n - n//2, 0, -1)]) / max) ** p
  const at::Tensor five = transition_weight(5, 1.0, at::kCPU);
  EXPECT_TRUE(at::equal(five, at::tensor({1.0F, 2.0F, 3.0F, 2.0F, 1.0F}) / 3.0F));
  EXPECT_TRUE(at::equal(transition_weight(4, 2.0, at::kCPU), at::tensor({0.25F, 1.0F, 1.0F, 0.25F})));
  EXPECT_TRUE(at::equal(transition_weight(7, 2.0, at::kCPU),
                        at::tensor({0.0625F, 0.25F, 0.5625F, 1.0F, 0.5625F, 0.25F, 0.0625F})));
  EXPECT_EQ(five.scalar_type(), at::kFloat);
}

TEST(ChunkPlan, SegmentLengthAndStride) {
  // int(44100 * Fraction(39, 5)) for a model; int(48000 * 0.009) for a float override.
  EXPECT_EQ(model_segment_frames(44100, 39.0 / 5.0), 343980);
  EXPECT_EQ(model_segment_frames(48000, 0.009), 432);
  EXPECT_EQ(override_segment_frames(48000, 0.009), 431);
  EXPECT_EQ(override_segment_frames(44100, 7.8), 343980);
  const MirrorModel model(200, 0.5);
  SeparatorOptions options;
  options.overlap = 0.9;
  EXPECT_EQ(make_chunk_plan(model, options).stride, 9);  // int((1 - 0.9) * 100)
  options.overlap = 0.25;
  const ChunkPlan plan = make_chunk_plan(model, options);
  EXPECT_EQ(plan.segment_length, 100);
  EXPECT_EQ(plan.stride, 75);
  options.segment = 0.3;
  EXPECT_EQ(make_chunk_plan(model, options).segment_length, 60);
}

TEST(ChunkPlan, ShortChunkWindowReachesBack) {
  const ChunkWindow full = chunk_window(150, 100, 1000);
  EXPECT_EQ(full.length, 100);
  EXPECT_EQ(full.input_start, 150);
  EXPECT_EQ(full.trim, 0);
  const ChunkWindow last = chunk_window(90, 100, 130);  // 40 frames; delta 60
  EXPECT_EQ(last.length, 40);
  EXPECT_EQ(last.trim, 30);
  EXPECT_EQ(last.input_start, 60);
  const ChunkWindow odd = chunk_window(75, 100, 130);  // 55 frames; delta 45 -> 22 before
  EXPECT_EQ(odd.trim, 22);
  EXPECT_EQ(odd.input_start, 53);
}

TEST(FrameQueue, AppendsConsumesAndKeepsOrder) {
  FrameQueue queue({2});
  std::int64_t next = 0;
  std::int64_t expected_front = 0;
  for (int round = 0; round < 50; ++round) {
    const std::int64_t count = 1 + (round * 37) % 700;
    queue.append(at::arange(next, next + count, at::kFloat).expand({2, count}));
    next += count;
    const std::int64_t take = std::min<std::int64_t>(queue.size(), 1 + (round * 53) % 650);
    const at::Tensor front = queue.take_front(take);
    EXPECT_TRUE(at::equal(front.select(0, 1), at::arange(expected_front, expected_front + take, at::kFloat)));
    expected_front += take;
  }
  EXPECT_EQ(queue.size(), next - expected_front);
  queue.append_zeros(3);
  EXPECT_EQ(queue.span(queue.size() - 3, queue.size()).abs().sum().item<float>(), 0.0F);
}

TEST(ComputeThreads, SetsTheIntraOpThreadCount) {
  EXPECT_EQ(set_compute_threads(1), 1);
  EXPECT_EQ(compute_threads(), 1);
  const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  EXPECT_EQ(set_compute_threads(), cores);
  EXPECT_EQ(compute_threads(), cores);
  SeparatorOptions options;
  options.threads = 1;
  StreamSeparator separator(std::make_shared<MirrorModel>(200, 0.5), options);
  EXPECT_EQ(compute_threads(), 1);
  set_compute_threads();
}

}  // namespace
}  // namespace demucs::testing
