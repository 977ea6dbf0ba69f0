#include "reference_demix.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <utility>
#include <vector>

namespace demucs::testing {

namespace {

// _getWindowingArray(window_size, fade_size).
at::Tensor windowing_array(std::int64_t window_size, std::int64_t fade_size) {
  const at::Tensor fadein = at::linspace(0.0, 1.0, fade_size, at::kFloat);
  const at::Tensor fadeout = at::linspace(1.0, 0.0, fade_size, at::kFloat);
  at::Tensor window = at::ones({window_size}, at::kFloat);
  window.narrow(0, window_size - fade_size, fade_size).copy_(fadeout);
  window.narrow(0, 0, fade_size).copy_(fadein);
  return window;
}

// nn.functional.pad(x, (left, right), mode="reflect") on (channels, length).
at::Tensor reflect_pad(const at::Tensor& x, std::int64_t left, std::int64_t right) {
  return at::reflection_pad1d(x.unsqueeze(0), {left, right}).squeeze(0);
}

}  // namespace

at::Tensor reference_demix(SegmentModel& model, const at::Tensor& mix_in, std::int64_t chunk_size, int num_overlap,
                           int batch_size) {
  c10::InferenceMode inference;
  at::Tensor mix = mix_in.to(at::kFloat);
  const auto num_instruments = static_cast<std::int64_t>(model.sources().size());
  const std::int64_t fade_size = chunk_size / 10;
  const std::int64_t step = chunk_size / num_overlap;
  const std::int64_t border = chunk_size - step;
  const std::int64_t length_init = mix.size(-1);
  const at::Tensor windowing = windowing_array(chunk_size, fade_size);
  if (length_init > 2 * border && border > 0) {
    mix = reflect_pad(mix, border, border);
  }
  const std::int64_t total = mix.size(1);
  at::Tensor result = at::zeros({num_instruments, mix.size(0), total}, at::kFloat);
  at::Tensor counter = at::zeros({num_instruments, mix.size(0), total}, at::kFloat);

  std::int64_t i = 0;
  std::vector<at::Tensor> batch_data;
  std::vector<std::pair<std::int64_t, std::int64_t>> batch_locations;
  while (i < total) {
    at::Tensor part = mix.narrow(1, i, std::min(chunk_size, total - i));
    const std::int64_t chunk_len = part.size(-1);
    if (chunk_len < chunk_size) {
      part = chunk_len > chunk_size / 2 ? reflect_pad(part, 0, chunk_size - chunk_len)
                                        : at::constant_pad_nd(part, {0, chunk_size - chunk_len}, 0.0);
    }
    batch_data.push_back(part);
    batch_locations.emplace_back(i, chunk_len);
    i += step;
    if (static_cast<int>(batch_data.size()) >= batch_size || i >= total) {
      const at::Tensor x = model.forward(at::stack(batch_data));
      at::Tensor window = windowing.clone();
      if (i - step == 0) {
        window.narrow(0, 0, fade_size).fill_(1.0);
      } else if (i >= total) {
        window.narrow(0, chunk_size - fade_size, fade_size).fill_(1.0);
      }
      for (std::size_t j = 0; j < batch_locations.size(); ++j) {
        const auto [start, seg_len] = batch_locations[j];
        at::Tensor out = x[static_cast<std::int64_t>(j)];
        const std::int64_t available = std::min(out.size(-1), seg_len);
        out = at::constant_pad_nd(out.narrow(-1, 0, available), {0, seg_len - available}, 0.0);
        const at::Tensor w = window.narrow(0, 0, seg_len);
        result.narrow(-1, start, seg_len) += out * w;
        counter.narrow(-1, start, seg_len) += w;
      }
      batch_data.clear();
      batch_locations.clear();
    }
  }
  at::Tensor estimated = at::nan_to_num(result / counter, 0.0);
  if (length_init > 2 * border && border > 0) {
    estimated = estimated.narrow(-1, border, length_init);
  }
  return estimated;
}

}  // namespace demucs::testing
