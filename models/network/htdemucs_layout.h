// The shapes of every encoder and decoder layer of HTDemucs, derived from the
// configuration exactly as upstream's HTDemucs.__init__ builds them.
#pragma once

#include "network/htdemucs_config.h"

#include <cstdint>
#include <vector>

namespace demucs {

struct BranchLayerSpec {
  int64_t chin = 0;
  int64_t chout = 0;
  int64_t kernel_size = 0;
  int64_t stride = 0;
  bool freq = true;    // acts on (freq, time) with 2-D convolutions
  bool pad = true;     // pads by kernel_size / 4
  bool norm = false;   // GroupNorm(norm_groups) instead of the identity
  bool empty = false;  // time layer reduced to its first convolution (branch merge)
  bool last = false;   // decoder layer producing the output (no GELU)
  bool dconv = false;  // DConv residual branch
  int64_t context = 0; // the rewrite convolution's context
};

struct HTDemucsLayout {
  std::vector<BranchLayerSpec> encoder;   // frequency branch, input first
  std::vector<BranchLayerSpec> tencoder;  // time branch
  std::vector<BranchLayerSpec> decoder;   // frequency branch, in execution order (deepest first)
  std::vector<BranchLayerSpec> tdecoder;  // time branch, in execution order
  int64_t freq_emb_count = 0;             // 0: no frequency embedding
  int64_t freq_emb_channels = 0;
  int64_t bottom_width = 0;               // channels at the bottom of the U-Net

  static HTDemucsLayout from_config(const HTDemucsConfig& config);
};

}  // namespace demucs
