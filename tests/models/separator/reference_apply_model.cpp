#include "reference_apply_model.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace demucs::testing {

namespace {

// upstream TensorChunk
struct TensorChunk {
  at::Tensor tensor;
  std::int64_t offset = 0;
  std::int64_t length = 0;

  // TensorChunk(tensor, offset, length) where `tensor` is a plain tensor.
  static TensorChunk of(const at::Tensor& tensor, std::int64_t offset = 0,
                        std::optional<std::int64_t> length = std::nullopt) {
    return TensorChunk{tensor, 0, tensor.size(-1)}.sub(offset, length);
  }

  // TensorChunk(self, offset, length): a chunk of a chunk.
  TensorChunk sub(std::int64_t sub_offset, std::optional<std::int64_t> sub_length) const {
    const std::int64_t total_length = length;  // self.shape[-1]
    if (sub_offset < 0 || sub_offset >= total_length) {
      throw std::logic_error("TensorChunk: offset out of range");
    }
    const std::int64_t chunk_length =
        sub_length ? std::min(total_length - sub_offset, *sub_length) : total_length - sub_offset;
    return TensorChunk{tensor, offset + sub_offset, chunk_length};
  }

  std::vector<std::int64_t> shape() const {
    std::vector<std::int64_t> sizes = tensor.sizes().vec();
    sizes.back() = length;
    return sizes;
  }

  at::Tensor padded(std::int64_t target_length) const {
    const std::int64_t delta = target_length - length;
    const std::int64_t total_length = tensor.size(-1);
    if (delta < 0) {
      throw std::logic_error("TensorChunk.padded: delta < 0");
    }
    const std::int64_t start = offset - delta / 2;
    const std::int64_t end = start + target_length;
    const std::int64_t correct_start = std::max<std::int64_t>(0, start);
    const std::int64_t correct_end = std::min(total_length, end);
    const std::int64_t pad_left = correct_start - start;
    const std::int64_t pad_right = end - correct_end;
    at::Tensor out = at::constant_pad_nd(
        tensor.narrow(-1, correct_start, correct_end - correct_start), {pad_left, pad_right});
    if (out.size(-1) != target_length) {
      throw std::logic_error("TensorChunk.padded: wrong length");
    }
    return out;
  }
};

at::Tensor center_trim(const at::Tensor& tensor, std::int64_t reference) {
  const std::int64_t delta = tensor.size(-1) - reference;
  if (delta < 0) {
    throw std::logic_error("center_trim: tensor shorter than reference");
  }
  return tensor.narrow(-1, delta / 2, reference);
}

// int(model.samplerate * model.segment) with segment an exact Fraction.
std::int64_t training_length(const SegmentModel& model) {
  return std::llround(model.samplerate() * model.segment_seconds());
}

at::Tensor apply_chunk(SegmentModel& model, const TensorChunk& mix, PythonRandom& random,
                       const ReferenceOptions& options);

at::Tensor apply_chunk(SegmentModel& model, const TensorChunk& mix, PythonRandom& random,
                       const ReferenceOptions& options) {
  const std::vector<std::int64_t> shape = mix.shape();
  const std::int64_t batch = shape[0];
  const std::int64_t channels = shape[1];
  const std::int64_t length = shape[2];
  const auto sources = static_cast<std::int64_t>(model.sources().size());
  if (options.shifts > 0) {
    ReferenceOptions inner = options;
    inner.shifts = 0;
    const std::int64_t max_shift = static_cast<std::int64_t>(0.5 * model.samplerate());
    const at::Tensor padded_mix = mix.padded(length + 2 * max_shift);
    at::Tensor out;
    for (int shift_index = 0; shift_index < options.shifts; ++shift_index) {
      const std::int64_t offset = random.randint(0, max_shift);
      const TensorChunk shifted = TensorChunk::of(padded_mix, offset, length + max_shift - offset);
      const at::Tensor shifted_out = apply_chunk(model, shifted, random, inner);
      const at::Tensor kept = shifted_out.narrow(-1, max_shift - offset, shifted_out.size(-1) - (max_shift - offset));
      if (!out.defined()) {
        out = at::add(kept, 0.0);  // out = 0.; out += shifted_out[...]
      } else {
        out.add_(kept);
      }
    }
    out.div_(static_cast<std::int64_t>(options.shifts));
    return out;
  }
  if (options.split) {
    ReferenceOptions inner = options;
    inner.split = false;
    at::Tensor out = at::zeros({batch, sources, channels, length}, at::kFloat);
    at::Tensor sum_weight = at::zeros({length}, at::kFloat);
    const std::int64_t segment_length =
        options.segment ? static_cast<std::int64_t>(model.samplerate() * *options.segment)
                        : training_length(model);
    const auto stride =
        static_cast<std::int64_t>((1 - options.overlap) * static_cast<double>(segment_length));
    at::Tensor weight = at::cat({at::arange(1, segment_length / 2 + 1, at::kLong),
                                 at::arange(segment_length - segment_length / 2, 0, -1, at::kLong)});
    weight = at::pow(weight / weight.max(), options.transition_power);
    for (std::int64_t offset = 0; offset < length; offset += stride) {
      const TensorChunk chunk = mix.sub(offset, segment_length);
      const at::Tensor chunk_out = apply_chunk(model, chunk, random, inner);
      const std::int64_t chunk_length = chunk_out.size(-1);
      out.narrow(-1, offset, chunk_length).add_(weight.narrow(0, 0, chunk_length) * chunk_out);
      sum_weight.narrow(0, offset, chunk_length).add_(weight.narrow(0, 0, chunk_length));
    }
    if (!(sum_weight.min().item<float>() > 0)) {
      throw std::logic_error("apply_model: sum_weight.min() > 0 fails");
    }
    out.div_(sum_weight);
    return out;
  }
  const std::int64_t valid_length =
      options.segment ? static_cast<std::int64_t>(*options.segment * model.samplerate())
                      : training_length(model);
  if (valid_length < length) {
    throw std::logic_error("valid_length: longer than the training length");
  }
  const at::Tensor padded_mix = mix.padded(valid_length).to(model.device());
  const at::Tensor out = model.forward(padded_mix).to(at::kCPU);
  return center_trim(out, length);
}

}  // namespace

at::Tensor reference_apply_model(SegmentModel& model, const at::Tensor& mix, PythonRandom& random,
                                 const ReferenceOptions& options) {
  return apply_chunk(model, TensorChunk::of(mix), random, options);
}

at::Tensor reference_apply_bag(const ReferenceBag& bag, const at::Tensor& mix,
                               PythonRandom& random, const ReferenceOptions& options) {
  at::Tensor estimates;
  std::vector<double> totals(bag.models.front()->sources().size(), 0.0);
  for (std::size_t m = 0; m < bag.models.size(); ++m) {
    at::Tensor out = reference_apply_model(*bag.models[m], mix, random, options);
    for (std::size_t k = 0; k < bag.weights[m].size(); ++k) {
      out.select(1, static_cast<std::int64_t>(k)).mul_(bag.weights[m][k]);
      totals[k] += bag.weights[m][k];
    }
    if (!estimates.defined()) {
      estimates = at::add(out, 0.0);  // estimates = 0.; estimates += out
    } else {
      estimates.add_(out);
    }
  }
  for (std::size_t k = 0; k < totals.size(); ++k) {
    estimates.select(1, static_cast<std::int64_t>(k)).div_(totals[k]);
  }
  return estimates;
}

}  // namespace demucs::testing
