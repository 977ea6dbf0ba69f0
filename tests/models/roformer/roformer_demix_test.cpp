// The reference's demix (utils/model_utils.py, batch_size 1) of the whole 6 s
// mix with the tiny BS and Mel models, against DemixSeparator fed in pieces
// of random size, with batch 1 (both) and with chunks batched by 3 (Mel: the
// fake-model tests show batching changes no number, so one network suffices).
#include "roformer/roformer.h"
#include "separator/demix_separator.h"

#include "checkpoint/checkpoint_reader.h"
#include "support/npy_file.h"
#include "support/snr.h"
#include "support/test_data.h"
#include "support/wav_file.h"
#include "tiny_roformer_configs.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace demucs {
namespace {

using testing::read_npy;
using testing::snr_db;
using testing::test_data;

struct TinyModel {
  const char* name;
  RoformerConfig (*config)();
};

struct DemixCase {
  TinyModel model;
  int batch_size;
};

// Pushes in pieces of 1..max_piece frames, pulling after each; returns the
// stems pulled, (stems, channels, frames).
at::Tensor stream(DemixSeparator& separator, const at::Tensor& mix, std::int64_t max_piece) {
  std::mt19937 random(7);
  std::uniform_int_distribution<std::int64_t> piece(1, max_piece);
  std::vector<at::Tensor> pulled;
  for (std::int64_t position = 0; position < mix.size(1);) {
    const std::int64_t count = std::min(piece(random), mix.size(1) - position);
    separator.push(mix.narrow(1, position, count));
    position += count;
    pulled.push_back(separator.pull());
    EXPECT_LE(separator.buffered_frames(), separator.max_buffered_frames());
  }
  separator.finish();
  pulled.push_back(separator.pull());
  return at::cat(pulled, -1);
}

class RoformerDemix : public ::testing::TestWithParam<DemixCase> {};

TEST_P(RoformerDemix, SixSecondsMatchTheReference) {
  const DemixCase& param = GetParam();
  const RoformerConfig config = param.model.config();
  const std::string path = test_data(std::string("roformer/") + param.model.name + ".ckpt");
  const auto network = Roformer::from_state(config, read_tensor_dict(path), path, at::kCPU);
  const at::Tensor mix = testing::read_wav(test_data("mix.wav")).samples;  // (2, 264600)
  const at::Tensor reference = read_npy(test_data(std::string("roformer/") + param.model.name + ".demix.npy"));

  DemixOptions options;
  options.chunk_size = config.chunk_size;
  options.num_overlap = config.num_overlap;
  options.batch_size = param.batch_size;
  options.threads = 1;
  options.stems = {"vocals", "instrumental"};
  DemixSeparator separator(network, options);
  const at::Tensor out = stream(separator, mix, 30000);
  ASSERT_EQ(out.sizes(), (at::IntArrayRef{2, 2, 264600}));
  EXPECT_EQ(separator.forward_calls(), (8 + param.batch_size - 1) / param.batch_size);  // 8 chunks

  const double vocals = snr_db(reference, out[0]);
  const double instrumental = snr_db(mix - reference, out[1]);
  EXPECT_GE(vocals, 80.0);
  EXPECT_GE(instrumental, 80.0);
  std::printf("%s demix, 6 s, batch %d: vocals %.1f dB, instrumental %.1f dB\n", param.model.name,
              param.batch_size, vocals, instrumental);
}

INSTANTIATE_TEST_SUITE_P(TinyModels, RoformerDemix,
                         ::testing::Values(DemixCase{{"bs-tiny", testing::tiny_bs_roformer_config}, 1},
                                           DemixCase{{"mel-tiny", testing::tiny_mel_roformer_config}, 1},
                                           DemixCase{{"mel-tiny", testing::tiny_mel_roformer_config}, 3}),
                         [](const ::testing::TestParamInfo<DemixCase>& info) {
                           std::string name = info.param.model.name;
                           name[name.find('-')] = '_';
                           return name + "_batch" + std::to_string(info.param.batch_size);
                         });

}  // namespace
}  // namespace demucs
