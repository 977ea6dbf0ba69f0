// libdemucs as a program outside the project uses it: demucs/demucs.h alone
// (compiled without LibTorch's headers on the include path) and libdemucs.so.
#include "demucs/demucs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::string tiny_model() {
  const char* folder = std::getenv("DEMUCS_TEST_DATA");
  return std::string(folder != nullptr ? folder : "tests/data") + "/htdemucs-tiny-4s.th";
}

demucs::LoadedModel load_on_cpu(const std::string& stem) {
  demucs::LoadOptions options;
  options.device = "cpu";
  return demucs::load_model(tiny_model(), stem, options);
}

// 2.5 s of two detuned chords, stereo, interleaved.
std::vector<float> test_mix(int rate) {
  const int frames = rate * 5 / 2;
  std::vector<float> mix(static_cast<size_t>(frames) * 2);
  for (int i = 0; i < frames; ++i) {
    const double t = static_cast<double>(i) / rate;
    mix[2 * i] = static_cast<float>(0.3 * std::sin(2 * M_PI * 220 * t) + 0.2 * std::sin(2 * M_PI * 331 * t));
    mix[2 * i + 1] = static_cast<float>(0.3 * std::sin(2 * M_PI * 277 * t) + 0.1 * std::sin(2 * M_PI * 440 * t));
  }
  return mix;
}

double snr_db(const std::vector<float>& reference, const std::vector<float>& output) {
  double signal = 0, noise = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    signal += static_cast<double>(reference[i]) * reference[i];
    noise += (static_cast<double>(reference[i]) - output[i]) * (static_cast<double>(reference[i]) - output[i]);
  }
  return noise == 0 ? INFINITY : 10 * std::log10(signal / noise);
}

TEST(PublicApi, LoadsAModelForOneStem) {
  const demucs::LoadedModel model = load_on_cpu("instrumental");
  EXPECT_EQ(model.name(), tiny_model());
  EXPECT_EQ(model.stem(), "instrumental");
  EXPECT_EQ(model.sources(), (std::vector<std::string>{"drums", "bass", "other", "vocals"}));
  EXPECT_EQ(model.samplerate(), 44100);
  EXPECT_EQ(model.audio_channels(), 2);
  EXPECT_EQ(model.device(), "cpu");
  EXPECT_EQ(model.precision(), demucs::Precision::fp32);
  EXPECT_EQ(load_on_cpu("vocals").network_identity(), model.network_identity());  // one network shared
}

TEST(PublicApi, SeparateEqualsTheStreamInPieces) {
  const demucs::LoadedModel model = load_on_cpu("vocals");
  const std::vector<float> mix = test_mix(model.samplerate());
  const auto frames = static_cast<std::int64_t>(mix.size() / 2);
  const std::vector<float> whole = demucs::separate(model, mix.data(), frames, 2);
  ASSERT_EQ(whole.size(), mix.size());

  demucs::StemStream stream(model, demucs::SeparatorOptions{});
  std::vector<float> streamed;
  for (std::int64_t pos = 0; pos < frames; pos += 7001) {
    stream.push(mix.data() + 2 * pos, std::min<std::int64_t>(7001, frames - pos), 2);
    const std::vector<float> done = stream.pull();
    streamed.insert(streamed.end(), done.begin(), done.end());
  }
  stream.finish();
  const std::vector<float> rest = stream.pull();
  streamed.insert(streamed.end(), rest.begin(), rest.end());
  ASSERT_EQ(streamed.size(), whole.size());
  EXPECT_GE(snr_db(whole, streamed), 80.0);
  double energy = 0;
  for (float v : whole) energy += static_cast<double>(v) * v;
  EXPECT_GT(energy, 0.0);
}

TEST(PublicApi, ErrorsAreTheHeadersExceptions) {
  EXPECT_THROW(load_on_cpu("guitar"), std::invalid_argument);
  demucs::LoadOptions options;
  options.device = "cpu";
  EXPECT_THROW(demucs::load_model("/nonexistent/model.th", "vocals", options), demucs::ModelNotFoundError);
  EXPECT_THROW(demucs::load_model("not-a-model", "vocals", options), demucs::UnknownModelError);
  options.precision = demucs::Precision::fp16;
  EXPECT_THROW(demucs::load_model(tiny_model(), "vocals", options), demucs::DeviceUnavailableError);
  options.precision = demucs::Precision::fp32;
  options.device = "tpu";
  EXPECT_THROW(demucs::load_model(tiny_model(), "vocals", options), std::invalid_argument);
}

}  // namespace
