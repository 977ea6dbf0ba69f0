// The network against upstream Demucs: one forward pass of each fixture model
// on one segment of the fixture mix, and every intermediate value of the
// tiny-4s forward, so that a wrong layer is named by the check that fails.
#include "checkpoint/checkpoint_reader.h"
#include "network/htdemucs.h"
#include "network/openblas_kernels.h"
#include "support/npy_file.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/wav_file.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

namespace demucs {
namespace {

using testing::read_npy;
using testing::read_wav;
using testing::shared_fixture;
using testing::snr_db;
using testing::test_data;

constexpr double kMinSnrDb = 80.0;

at::Tensor mix_prefix(int64_t length) {
  const at::Tensor mix = read_wav(test_data("mix.wav")).samples;
  return mix.slice(1, 0, length).unsqueeze(0).contiguous();
}

std::shared_ptr<HTDemucs> load(const std::string& name) {
  return HTDemucs::from_checkpoint(read_checkpoint(test_data(name)), at::kCPU);
}

// Forward on the first segment; compare the kept sources with upstream's.
void expect_forward_matches(const std::string& model_name, int64_t length, const std::string& reference,
                            const std::vector<int64_t>& source_indices) {
  auto model = load(model_name);
  ASSERT_EQ(model->config().training_length(), length);
  const at::Tensor out = model->forward(mix_prefix(length));
  ASSERT_EQ(out.sizes(), (at::IntArrayRef{1, static_cast<int64_t>(model->sources().size()), 2, length}));
  const at::Tensor expected = read_npy(test_data(reference));
  for (size_t i = 0; i < source_indices.size(); ++i) {
    const int64_t s = source_indices[i];
    const double snr = snr_db(expected[static_cast<int64_t>(i)], out[0][s]);
    std::cout << model_name << " " << s << " snr " << snr << "\n";
    EXPECT_GE(snr, kMinSnrDb) << model_name << " source " << model->sources()[s];
  }
}

TEST(HTDemucsForward, Tiny4sMatchesUpstream) {
  expect_forward_matches("htdemucs-tiny-4s.th", 88200, "tiny-4s.forward.drums-vocals.npy", {0, 3});
}

// The transformer's two ways of threading its matrix products: split between
// LibTorch's threads by libdemucs (OpenMP threads that spin) or left to
// OpenBLAS's threads (OMP_WAIT_POLICY=PASSIVE). Both give upstream's numbers.
TEST(HTDemucsForward, BothWaysOfThreadingTheTransformerMatchUpstream) {
  const char* before = std::getenv("OMP_WAIT_POLICY");
  const std::string saved = before != nullptr ? before : "";
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  for (const std::string policy : {"PASSIVE", "ACTIVE"}) {
    SCOPED_TRACE("OMP_WAIT_POLICY=" + policy);
    setenv("OMP_WAIT_POLICY", policy.c_str(), 1);
    EXPECT_EQ(openmp_threads_spin(), policy != "PASSIVE");
    expect_forward_matches("htdemucs-tiny-4s.th", 88200, "tiny-4s.forward.drums-vocals.npy", {0, 3});
  }
  if (before != nullptr) {
    setenv("OMP_WAIT_POLICY", saved.c_str(), 1);
  } else {
    unsetenv("OMP_WAIT_POLICY");
  }
  at::set_num_threads(threads);
}

TEST(HTDemucsForward, Tiny6sMatchesUpstream) {
  expect_forward_matches("htdemucs-tiny-6s.th", 132300, "tiny-6s.forward.vocals-piano.npy", {3, 5});
}

TEST(HTDemucsForward, ShorterInputIsZeroPaddedToTheSegmentAndTrimmed) {
  auto model = load("htdemucs-tiny-4s.th");
  const at::Tensor mix = mix_prefix(88200);
  const at::Tensor short_mix = mix.slice(2, 0, 50000);
  const at::Tensor padded = at::constant_pad_nd(short_mix, {0, 88200 - 50000});
  const at::Tensor out_short = model->forward(short_mix);
  const at::Tensor out_padded = model->forward(padded);
  ASSERT_EQ(out_short.size(-1), 50000);
  EXPECT_TRUE(at::equal(out_short, out_padded.slice(-1, 0, 50000)));
}

TEST(HTDemucsForward, BatchItemsAreIndependent) {
  auto model = load("htdemucs-tiny-4s.th");
  const at::Tensor mix = mix_prefix(88200);
  const at::Tensor other = read_wav(test_data("mix.wav")).samples.slice(1, 100000, 188200).unsqueeze(0);
  const at::Tensor batch = at::cat({mix, other}, 0);
  const at::Tensor out = model->forward(batch);
  EXPECT_GE(snr_db(model->forward(mix)[0], out[0]), 100.0);
  EXPECT_GE(snr_db(model->forward(other)[0], out[1]), 100.0);
}

TEST(HTDemucsForward, RejectsInputLongerThanTheSegment) {
  auto model = load("htdemucs-tiny-4s.th");
  EXPECT_THROW(model->forward(at::zeros({1, 2, 88201})), std::invalid_argument);
  EXPECT_THROW(model->forward(at::zeros({1, 1, 1000})), std::invalid_argument);
}

// Every stored intermediate value of the tiny-4s forward.
TEST(HTDemucsActivations, EveryLayerMatchesUpstream) {
  const std::string path = shared_fixture("tiny-4s.activations.pt");
  if (path.empty()) {
    GTEST_SKIP() << "../shared/fixtures/tiny-4s.activations.pt is absent (it is not copied into the project: "
                    "36 MB); the forward tests above still check the output";
  }
  const std::map<std::string, at::Tensor> expected = read_tensor_dict(path);
  std::map<std::string, at::Tensor> captured;
  auto model = load("htdemucs-tiny-4s.th");
  model->forward(mix_prefix(88200), [&](const std::string& name, const at::Tensor& value) {
    captured[name] = value.clone();
  });
  for (const auto& [name, reference] : expected) {
    const auto it = captured.find(name);
    ASSERT_NE(it, captured.end()) << "the network reports no activation named " << name;
    ASSERT_EQ(it->second.sizes(), reference.sizes()) << name;
    std::cout << name << " " << snr_db(reference, it->second) << "\n";
    EXPECT_GE(snr_db(reference, it->second), kMinSnrDb) << "first differing layers show here: " << name;
  }
  EXPECT_EQ(expected.size(), 41u);
}

}  // namespace
}  // namespace demucs
