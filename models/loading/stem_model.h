// Everything needed to produce one stem (or several at once) from a model spec: resolves a known
// model name (in the model cache) or a checkpoint path, loads the members of
// the bag that the stem needs (shared with other users in the process), and
// says which sources to separate and how to combine them. A RoFormer
// checkpoint (.ckpt and its YAML) gives a RoFormer network and the settings of
// the reference's demix instead of a bag.
#pragma once

#include "demucs/demucs.h"  // kInstrumentalStem, valid_stems, Precision
#include "roformer/roformer.h"
#include "separator/model_bag.h"

#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace demucs {

struct StemModel {
  std::string name;                     // the known name, or the path
  std::string stem;                     // as requested (several: joined with ',')
  std::vector<std::string> stems;       // output stems, in order
  std::vector<std::string> sources;     // every source of the model, in order
  ModelBag bag;                         // only the members the stem needs; empty for a RoFormer
  // A RoFormer model: the network (shared), and its demix settings from the
  // configuration (inference.chunk_size else audio.chunk_size, in samples;
  // inference.num_overlap). `separate` then names the demix separator's rows:
  // sources, and "instrumental" (the mix minus the vocals).
  std::shared_ptr<Roformer> roformer;
  std::int64_t chunk_size = 0;
  int num_overlap = 0;
  std::vector<std::string> separate;    // sources (rows) to ask the separator for
  bool sum_sources = false;             // one stem only: it is the sum of `separate`
  // Per output stem: the indices into `separate` whose outputs add up to it.
  std::vector<std::vector<std::int64_t>> stem_parts;
  int samplerate = 0;
  int audio_channels = 0;
  double segment_seconds = 0;           // the shortest of the bag; a RoFormer's chunk_size in seconds
  c10::Device device = c10::kCPU;
  Precision precision = Precision::fp32;
};

// Throws ModelNotFoundError (registry/model_cache.h) for a model not in the
// cache, CheckpointError / UnsupportedModelError / StateMismatchError for a
// bad checkpoint, DeviceUnavailableError for a precision the device cannot
// run, and std::invalid_argument for a stem the model does not have (the
// message lists the valid stems).
// `config` is a RoFormer checkpoint's YAML ("" = beside it; see roformer_spec.h).
StemModel load_stem_model(const std::string& spec, const std::string& stem, c10::Device device,
                          Precision precision = Precision::fp32, const std::string& config = "");

// Several stems from one separation: `separate` is the union of the sources
// they need, in the model's order. `stems` empty = every valid stem. Throws as
// load_stem_model, and std::invalid_argument for a repeated stem.
StemModel load_stems_model(const std::string& spec, const std::vector<std::string>& stems, c10::Device device,
                           Precision precision = Precision::fp32, const std::string& config = "");

}  // namespace demucs
