// The names the community code gives the two RoFormer kinds (its model_type).
#include "roformer/roformer_config.h"

namespace demucs {

const char* roformer_model_type(RoformerKind kind) {
  return kind == RoformerKind::band_split ? "bs_roformer" : "mel_band_roformer";
}

}  // namespace demucs
