// The YAML configurations of RoFormer checkpoints: the tiny fixtures' and the
// community's (every bs/mel roformer configuration of ZFTurbo
// Music-Source-Separation-Training at commit ccc011a, in
// tests/data/roformer/community/), read into RoformerConfig; and every way a
// configuration can be wrong, each a clear error naming the key and the file.
#include "roformer/roformer_config_file.h"

#include "demucs/demucs.h"
#include "support/test_data.h"
#include "support/text_assertions.h"

#include <gtest/gtest.h>

#include <fstream>
#include <numeric>
#include <sstream>
#include <string>

namespace demucs {
namespace {

using testing::contains;
using testing::test_data;

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// bs-tiny.yaml with `from` (which must be there) replaced by `to`.
std::string edited(const std::string& name, const std::string& from, const std::string& to) {
  std::string text = file_text(test_data("roformer/" + name));
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from << " is not in " << name;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string community(const std::string& name) { return test_data("roformer/community/" + name); }

std::int64_t sum(const std::vector<std::int64_t>& values) {
  return std::accumulate(values.begin(), values.end(), std::int64_t{0});
}

template <typename Error>
std::string error_of(const std::string& text, const std::string& model_type = "") {
  try {
    parse_roformer_config(text, "edited.yaml", model_type);
  } catch (const Error& error) {
    return error.what();
  } catch (const std::exception& error) {
    ADD_FAILURE() << "another exception: " << error.what();
    return "";
  }
  ADD_FAILURE() << "no exception";
  return "";
}

TEST(RoformerConfigFile, ReadsTheTinyBandSplitFixture) {
  const RoformerConfig config = read_roformer_config(test_data("roformer/bs-tiny.yaml"));
  EXPECT_EQ(config.kind, RoformerKind::band_split);
  EXPECT_STREQ(roformer_model_type(config.kind), "bs_roformer");
  EXPECT_EQ(config.dim, 32);
  EXPECT_EQ(config.depth, 2);
  EXPECT_TRUE(config.stereo);
  EXPECT_EQ(config.audio_channels(), 2);
  EXPECT_EQ(config.num_stems, 1);
  EXPECT_EQ(config.time_transformer_depth, 1);
  EXPECT_EQ(config.freq_transformer_depth, 1);
  EXPECT_EQ(config.linear_transformer_depth, 0);
  ASSERT_EQ(config.freqs_per_bands.size(), 62u);
  EXPECT_EQ(config.freqs_per_bands.front(), 2);
  EXPECT_EQ(config.freqs_per_bands.back(), 129);
  EXPECT_EQ(sum(config.freqs_per_bands), 1025);
  EXPECT_EQ(config.dim_head, 16);
  EXPECT_EQ(config.heads, 2);
  EXPECT_EQ(config.stft_n_fft, 2048);
  EXPECT_EQ(config.stft_hop_length, 441);
  EXPECT_EQ(config.stft_win_length, 2048);
  EXPECT_FALSE(config.stft_normalized);
  EXPECT_TRUE(config.zero_dc);
  EXPECT_EQ(config.mask_estimator_depth, 2);
  EXPECT_EQ(config.mlp_expansion_factor, 1);
  EXPECT_FALSE(config.skip_connection);
  EXPECT_EQ(config.samplerate, 44100);
  EXPECT_EQ(config.chunk_size, 88200);
  EXPECT_EQ(config.num_overlap, 2);
  EXPECT_EQ(config.batch_size, 1);
  EXPECT_EQ(config.instruments, (std::vector<std::string>{"vocals", "other"}));
  EXPECT_EQ(config.target_instrument, "vocals");
  EXPECT_EQ(config.sources, (std::vector<std::string>{"vocals"}));
}

TEST(RoformerConfigFile, ReadsTheTinyMelBandFixture) {
  const RoformerConfig config = read_roformer_config(test_data("roformer/mel-tiny.yaml"));
  EXPECT_EQ(config.kind, RoformerKind::mel_band);
  EXPECT_STREQ(roformer_model_type(config.kind), "mel_band_roformer");
  EXPECT_EQ(config.dim, 32);
  EXPECT_EQ(config.num_bands, 60);
  EXPECT_EQ(config.mel_sample_rate, 44100);
  EXPECT_TRUE(config.freqs_per_bands.empty());
  EXPECT_EQ(config.mask_estimator_depth, 2);
  EXPECT_FALSE(config.match_input_audio_length);
  EXPECT_EQ(config.stft_hop_length, 441);
  EXPECT_EQ(config.mlp_expansion_factor, 1);
  EXPECT_EQ(config.sources, (std::vector<std::string>{"vocals"}));
}

// The published configuration of the BS-RoFormer viperx ep_317 checkpoint:
// no zero_dc, mlp_expansion_factor or inference.chunk_size, so the
// reference's defaults and audio.chunk_size apply.
TEST(RoformerConfigFile, ReadsViperxBandSplit317WithTheReferenceDefaults) {
  const RoformerConfig config = read_roformer_config(community("model_bs_roformer_ep_317_sdr_12.9755.yaml"));
  EXPECT_EQ(config.kind, RoformerKind::band_split);
  EXPECT_EQ(config.dim, 512);
  EXPECT_EQ(config.depth, 12);
  EXPECT_EQ(config.dim_head, 64);
  EXPECT_EQ(config.heads, 8);
  EXPECT_EQ(config.freqs_per_bands.size(), 62u);
  EXPECT_TRUE(config.zero_dc);
  EXPECT_EQ(config.mlp_expansion_factor, 4);
  EXPECT_FALSE(config.skip_connection);
  EXPECT_EQ(config.stft_hop_length, 441);
  EXPECT_EQ(config.chunk_size, 352800);
  EXPECT_EQ(config.num_overlap, 2);
  EXPECT_EQ(config.batch_size, 4);
  EXPECT_EQ(config.sources, (std::vector<std::string>{"vocals"}));
}

TEST(RoformerConfigFile, ReadsKimberleyJensenMelBand) {
  const RoformerConfig config = read_roformer_config(community("config_vocals_mel_band_roformer_kj.yaml"));
  EXPECT_EQ(config.kind, RoformerKind::mel_band);
  EXPECT_EQ(config.dim, 384);
  EXPECT_EQ(config.depth, 6);
  EXPECT_EQ(config.num_bands, 60);
  EXPECT_EQ(config.mask_estimator_depth, 2);
  EXPECT_EQ(config.time_transformer_depth, 1);
  EXPECT_EQ(config.linear_transformer_depth, 0);  // absent: the default
  EXPECT_EQ(config.chunk_size, 352800);
  EXPECT_EQ(config.sources, (std::vector<std::string>{"vocals"}));
}

TEST(RoformerConfigFile, TargetInstrumentOtherIsTheOnlySource) {
  const RoformerConfig config = read_roformer_config(community("model_bs_roformer_ep_937_sdr_10.5309.yaml"));
  EXPECT_EQ(config.sources, (std::vector<std::string>{"other"}));
}

TEST(RoformerConfigFile, WithoutATargetEveryInstrumentIsASourceInOrder) {
  const RoformerConfig config = read_roformer_config(community("config_musdb18_mel_band_roformer_all_stems.yaml"));
  EXPECT_EQ(config.num_stems, 4);
  EXPECT_TRUE(config.target_instrument.empty());
  EXPECT_EQ(config.sources, (std::vector<std::string>{"drums", "bass", "other", "vocals"}));
}

// Every bs/mel roformer configuration of the reference repository: read, or
// refused naming what is not implemented.
TEST(RoformerConfigFile, EveryCommunityConfigurationReadsOrNamesWhatIsNotImplemented) {
  struct Expected {
    const char* file;
    RoformerKind kind;
    std::int64_t dim;
    std::int64_t stems;
  };
  const Expected readable[] = {
      {"config_musdb18_bs_roformer.yaml", RoformerKind::band_split, 192, 1},
      {"config_musdb18_bs_roformer_with_lora.yaml", RoformerKind::band_split, 384, 4},
      {"config_musdb18_mel_band_roformer.yaml", RoformerKind::mel_band, 192, 1},
      {"config_musdb18_mel_band_roformer_all_stems.yaml", RoformerKind::mel_band, 384, 4},
      {"config_vocals_bs_roformer.yaml", RoformerKind::band_split, 192, 1},
      {"config_vocals_mel_band_roformer.yaml", RoformerKind::mel_band, 192, 1},
      {"config_vocals_mel_band_roformer_kj.yaml", RoformerKind::mel_band, 384, 1},
      {"model_bs_roformer_ep_317_sdr_12.9755.yaml", RoformerKind::band_split, 512, 1},
      {"model_bs_roformer_ep_937_sdr_10.5309.yaml", RoformerKind::band_split, 384, 1},
      {"model_mel_band_roformer_ep_3005_sdr_11.4360.yaml", RoformerKind::mel_band, 384, 1},
  };
  for (const Expected& expected : readable) {
    SCOPED_TRACE(expected.file);
    const RoformerConfig config = read_roformer_config(community(expected.file));
    EXPECT_EQ(config.kind, expected.kind);
    EXPECT_EQ(config.dim, expected.dim);
    EXPECT_EQ(static_cast<std::int64_t>(config.sources.size()), expected.stems);
    EXPECT_GT(config.chunk_size, 0);
  }
  for (const char* file : {"config_musdb18_bs_roformer_384_8_2_485100_sage.yaml",
                           "config_musdb18_mel_band_roformer_sage.yaml"}) {
    SCOPED_TRACE(file);
    try {
      read_roformer_config(community(file));
      ADD_FAILURE() << "read without an error";
    } catch (const UnsupportedModelError& error) {
      EXPECT_TRUE(contains(error.what(), "model.sage_attention"));
      EXPECT_TRUE(contains(error.what(), file));
    }
  }
}

TEST(RoformerConfigFile, TheModelTypeGivenOrInTheFileDecides) {
  const std::string bs = file_text(test_data("roformer/bs-tiny.yaml"));
  EXPECT_EQ(parse_roformer_config(bs, "bs.yaml", "bs_roformer").kind, RoformerKind::band_split);
  EXPECT_EQ(parse_roformer_config(edited("bs-tiny.yaml", "training:\n", "training:\n  model_type: bs_roformer\n"),
                                  "bs.yaml")
                .kind,
            RoformerKind::band_split);
  EXPECT_EQ(parse_roformer_config("model_type: mel_band_roformer\n" +
                                      file_text(test_data("roformer/mel-tiny.yaml")),
                                  "mel.yaml")
                .kind,
            RoformerKind::mel_band);
}

TEST(RoformerConfigFile, AnUnknownModelTypeIsUnsupportedNamingIt) {
  const std::string bs = file_text(test_data("roformer/bs-tiny.yaml"));
  EXPECT_TRUE(contains(error_of<UnsupportedModelError>(bs, "htdemucs"), "model_type htdemucs"));
  const std::string in_file =
      error_of<UnsupportedModelError>(edited("bs-tiny.yaml", "training:\n", "training:\n  model_type: scnet\n"));
  EXPECT_TRUE(contains(in_file, "model_type scnet"));
  EXPECT_TRUE(contains(in_file, "edited.yaml"));
  EXPECT_TRUE(contains(error_of<UnsupportedModelError>(bs, "bs_roformer_experimental"), "bs_roformer_experimental"));
}

TEST(RoformerConfigFile, AModelTypeThatContradictsTheFileIsAnError) {
  const std::string text = edited("bs-tiny.yaml", "training:\n", "training:\n  model_type: bs_roformer\n");
  const std::string message = error_of<CheckpointError>(text, "mel_band_roformer");
  EXPECT_TRUE(contains(message, "mel_band_roformer"));
  EXPECT_TRUE(contains(message, "bs_roformer"));
}

TEST(RoformerConfigFile, AnArgumentOfTheOtherKindIsNamed) {
  // bs-tiny's freqs_per_bands given to a Mel-Band RoFormer.
  const std::string message =
      error_of<UnsupportedModelError>(file_text(test_data("roformer/bs-tiny.yaml")), "mel_band_roformer");
  EXPECT_TRUE(contains(message, "model.freqs_per_bands"));
  EXPECT_TRUE(contains(message, "mel_band_roformer"));
}

TEST(RoformerConfigFile, WithoutBandsOrModelTypeTheKindCannotBeTold) {
  const std::string text = edited("mel-tiny.yaml", "  num_bands: 60\n", "");
  const std::string message = error_of<CheckpointError>(text);
  EXPECT_TRUE(contains(message, "freqs_per_bands"));
  EXPECT_TRUE(contains(message, "num_bands"));
  EXPECT_TRUE(contains(message, "edited.yaml"));
}

TEST(RoformerConfigFile, ArgumentsNotImplementedAreRefusedNamingThem) {
  const struct {
    const char* from;
    const char* to;
    const char* named;
  } cases[] = {
      {"  use_pope: false\n", "  use_pope: true\n", "model.use_pope"},
      {"  use_pope: false\n", "  use_pope: false\n  stft_window_fn: torch.hamming_window\n", "model.stft_window_fn"},
      {"  use_pope: false\n", "  use_pope: false\n  sage_attention: true\n", "model.sage_attention"},
      {"  use_pope: false\n", "  use_pope: false\n  rotary_interleave: false\n", "model.rotary_interleave"},
      {"inference:\n", "inference:\n  normalize: true\n", "inference.normalize"},
  };
  for (const auto& c : cases) {
    const std::string message = error_of<UnsupportedModelError>(edited("bs-tiny.yaml", c.from, c.to));
    EXPECT_TRUE(contains(message, c.named));
    EXPECT_TRUE(contains(message, "edited.yaml"));
  }
}

TEST(RoformerConfigFile, DefaultValuesOfArgumentsNotImplementedAreAccepted) {
  const std::string text = edited("bs-tiny.yaml", "  use_pope: false\n",
                                  "  use_pope: false\n  stft_window_fn: null\n  sage_attention: false\n");
  EXPECT_EQ(parse_roformer_config(text, "edited.yaml").dim, 32);
}

TEST(RoformerConfigFile, TrainingOnlyArgumentsAreIgnoredWhateverTheirValue) {
  const std::string text = edited("bs-tiny.yaml", "  attn_dropout: 0.1\n  ff_dropout: 0.1\n  flash_attn: false\n",
                                  "  attn_dropout: 0.5\n  ff_dropout: 0.2\n  flash_attn: true\n"
                                  "  use_torch_checkpoint: true\n");
  EXPECT_EQ(parse_roformer_config(text, "edited.yaml").dim, 32);
}

TEST(RoformerConfigFile, MissingRequiredSettingsAreNamed) {
  const struct {
    const char* name;
    const char* from;
    const char* to;
    const char* named;
  } cases[] = {
      {"bs-tiny.yaml", "  dim: 32\n", "", "model.dim"},
      {"bs-tiny.yaml", "  depth: 2\n", "", "model.depth"},
      {"bs-tiny.yaml", "  num_overlap: 2\n", "", "inference.num_overlap"},
      {"bs-tiny.yaml", "  instruments:\n  - vocals\n  - other\n", "", "training.instruments"},
  };
  for (const auto& c : cases) {
    const std::string message = error_of<CheckpointError>(edited(c.name, c.from, c.to));
    EXPECT_TRUE(contains(message, c.named));
    EXPECT_TRUE(contains(message, "edited.yaml"));
  }
}

TEST(RoformerConfigFile, ValuesOfTheWrongTypeAreNamed) {
  const struct {
    const char* from;
    const char* to;
    const char* named;
  } cases[] = {
      {"  dim: 32\n", "  dim: wide\n", "model.dim"},
      {"  heads: 2\n", "  heads: 2.5\n", "model.heads"},
      {"  stereo: true\n", "  stereo: maybe\n", "model.stereo"},
      {"  dim_head: 16\n", "  dim_head: -16\n", "model.dim_head"},
      {"  - 129\n", "  - many\n", "model.freqs_per_bands[61]"},
      {"  num_overlap: 2\n", "  num_overlap: [2]\n", "inference.num_overlap"},
      {"  target_instrument: vocals\n", "  target_instrument: [vocals]\n", "training.target_instrument"},
  };
  for (const auto& c : cases) {
    const std::string message = error_of<CheckpointError>(edited("bs-tiny.yaml", c.from, c.to));
    EXPECT_TRUE(contains(message, c.named));
  }
}

TEST(RoformerConfigFile, BandsThatDoNotCoverTheSpectrumAreAnError) {
  const std::string message = error_of<CheckpointError>(edited("bs-tiny.yaml", "  - 129\n", "  - 128\n"));
  EXPECT_TRUE(contains(message, "model.freqs_per_bands"));
  EXPECT_TRUE(contains(message, "1025"));
  EXPECT_TRUE(contains(message, "1024"));
}

TEST(RoformerConfigFile, InstrumentsMustMatchTheStemsWithoutATarget) {
  const std::string message =
      error_of<CheckpointError>(edited("bs-tiny.yaml", "  target_instrument: vocals\n", "  target_instrument: null\n"));
  EXPECT_TRUE(contains(message, "training.instruments"));
  EXPECT_TRUE(contains(message, "model.num_stems"));
}

TEST(RoformerConfigFile, TheChunkSizeFallsBackToTheAudioSection) {
  std::string text = edited("bs-tiny.yaml", "audio:\n  chunk_size: 88200\n", "audio:\n  chunk_size: 44100\n");
  EXPECT_EQ(parse_roformer_config(text, "edited.yaml").chunk_size, 88200);  // inference's wins
  text.replace(text.rfind("  chunk_size: 88200\n"), 20, "");
  EXPECT_EQ(parse_roformer_config(text, "edited.yaml").chunk_size, 44100);
}

TEST(RoformerConfigFile, WithoutAnyChunkSizeBothPlacesAreNamed) {
  std::string text = edited("bs-tiny.yaml", "audio:\n  chunk_size: 88200\n", "audio:\n");
  text.replace(text.rfind("  chunk_size: 88200\n"), 20, "");
  const std::string message = error_of<CheckpointError>(text);
  EXPECT_TRUE(contains(message, "inference.chunk_size"));
  EXPECT_TRUE(contains(message, "audio.chunk_size"));
}

// A configuration naming only what it must gets the reference constructors'
// defaults, which differ between the kinds.
TEST(RoformerConfigFile, AbsentArgumentsGetTheReferenceDefaults) {
  const std::string rest =
      "training:\n  instruments: [vocals]\ninference:\n  num_overlap: 4\n  chunk_size: 100\n";
  const RoformerConfig bs =
      parse_roformer_config("model:\n  dim: 8\n  depth: 1\n" + rest, "minimal.yaml", "bs_roformer");
  EXPECT_FALSE(bs.stereo);
  EXPECT_EQ(bs.mask_estimator_depth, 2);
  EXPECT_EQ(bs.stft_hop_length, 512);
  EXPECT_EQ(bs.time_transformer_depth, 2);
  EXPECT_EQ(bs.mlp_expansion_factor, 4);
  EXPECT_TRUE(bs.zero_dc);
  EXPECT_EQ(bs.freqs_per_bands.size(), 62u);
  EXPECT_EQ(sum(bs.freqs_per_bands), 1025);
  EXPECT_EQ(bs.samplerate, 44100);
  EXPECT_EQ(bs.sources, (std::vector<std::string>{"vocals"}));

  const RoformerConfig mel =
      parse_roformer_config("model:\n  dim: 8\n  depth: 1\n  num_bands: 40\n" + rest, "minimal.yaml");
  EXPECT_EQ(mel.kind, RoformerKind::mel_band);
  EXPECT_EQ(mel.mask_estimator_depth, 1);
  EXPECT_EQ(mel.num_bands, 40);
}

TEST(RoformerConfigFile, NotYamlOrNotAMappingIsACheckpointErrorNamingTheFile) {
  EXPECT_TRUE(contains(error_of<CheckpointError>("model: [unclosed\n"), "edited.yaml"));
  EXPECT_TRUE(contains(error_of<CheckpointError>("- just\n- a list\n"), "not a model configuration"));
  EXPECT_TRUE(contains(error_of<CheckpointError>("audio:\n  chunk_size: 1\n"), "'model'"));
}

TEST(RoformerConfigFile, AMissingFileIsModelNotFoundNamingIt) {
  try {
    read_roformer_config("/nonexistent/folder/model.yaml");
    FAIL() << "no exception";
  } catch (const ModelNotFoundError& error) {
    EXPECT_TRUE(contains(error.what(), "/nonexistent/folder/model.yaml"));
  }
}

}  // namespace
}  // namespace demucs
