// The geometry of the reference demix: chunk, step, fade and border, where
// chunks start, when the mix is reflect-padded, and each chunk's window.
//
// Coordinates are those of the padded mix: when the mix is longer than
// 2 * border (and border > 0) the reference reflect-pads it by `border` on both
// sides, so mix frame t sits at padded position t + border; otherwise they are
// the same.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace demucs {

struct DemixPlan {
  std::int64_t chunk = 0;   // frames per chunk
  std::int64_t step = 0;    // chunk / num_overlap
  std::int64_t fade = 0;    // chunk / 10
  std::int64_t border = 0;  // chunk - step
  at::Tensor window;        // float32 CPU (chunk): linspace fade-in, ones, linspace fade-out

  // Whether a mix of `length` frames is reflect-padded by `border`.
  bool pads(std::int64_t length) const { return border > 0 && length > 2 * border; }
  std::int64_t padded_length(std::int64_t length) const { return pads(length) ? length + 2 * border : length; }
  std::int64_t chunk_start(std::int64_t index) const { return index * step; }
  // Chunks over a padded mix of this length (they start while start < length).
  std::int64_t chunk_count(std::int64_t padded_length) const { return (padded_length + step - 1) / step; }

  // The window of the chunk as batch 1 has it: the first chunk without its
  // fade-in, else the last chunk without its fade-out (a chunk that is both
  // keeps its fade-out, as the reference's if / elif).
  at::Tensor chunk_window(bool first, bool last) const;
};

// Expects options already validated (chunk >= 10, 1 <= num_overlap <= chunk).
DemixPlan make_demix_plan(std::int64_t chunk, int num_overlap);

// A chunk of `length` < chunk frames completed to `chunk` as the reference's
// last chunk: reflected (F.pad mode "reflect") when longer than chunk / 2,
// else zeros. part: (channels, length).
at::Tensor pad_last_chunk(const at::Tensor& part, std::int64_t chunk);

// Reflection of `count` frames about the first frame (frames count..1, in that
// order) and about the last (frames n-2..n-1-count): F.pad's "reflect".
at::Tensor reflect_before(const at::Tensor& planar, std::int64_t count);
at::Tensor reflect_after(const at::Tensor& planar, std::int64_t count);

}  // namespace demucs
