#include "separator/chunk_pass.h"

#include <algorithm>
#include <stdexcept>

namespace demucs {

ChunkPass::ChunkPass(std::int64_t segment_length, std::int64_t stride, std::int64_t delay,
                     std::int64_t stems, std::int64_t channels)
    : segment_length_(segment_length),
      stride_(stride),
      delay_(delay),
      accumulator_(stems, channels) {}

std::vector<ChunkWindow> ChunkPass::take_full_chunks(std::int64_t input_end) {
  std::vector<ChunkWindow> taken;
  if (stream_length_ >= 0) {
    return taken;
  }
  while (next_offset_ + segment_length_ <= input_end + delay_) {
    const ChunkWindow window = chunk_window(next_offset_, segment_length_, next_offset_ + segment_length_);
    next_offset_ += stride_;
    if (covers_kept_frames(window)) {
      pending_.push_back(window);
      taken.push_back(window);
    }
  }
  return taken;
}

std::vector<ChunkWindow> ChunkPass::take_remaining_chunks(std::int64_t length) {
  std::vector<ChunkWindow> taken;
  if (stream_length_ >= 0) {
    return taken;
  }
  stream_length_ = length;
  const std::int64_t delayed_length = length + delay_;
  // range(0, delayed_length, stride); an empty stream has no chunk at all.
  while (length > 0 && next_offset_ < delayed_length) {
    const ChunkWindow window = chunk_window(next_offset_, segment_length_, delayed_length);
    next_offset_ += stride_;
    if (covers_kept_frames(window)) {
      pending_.push_back(window);
      taken.push_back(window);
    }
  }
  return taken;
}

void ChunkPass::add_chunk_output(const ChunkWindow& window, const at::Tensor& weighted,
                                 const at::Tensor& weight) {
  if (pending_.empty() || pending_.front().offset != window.offset) {
    throw std::logic_error("ChunkPass: chunk outputs must be added in chunk order");
  }
  pending_.pop_front();
  accumulator_.add(window.offset - delay_, weighted, weight);
}

std::int64_t ChunkPass::final_end() const {
  const std::int64_t first_open = pending_.empty() ? next_offset_ : pending_.front().offset;
  std::int64_t position = std::max<std::int64_t>(first_open - delay_, 0);
  if (stream_length_ >= 0) {
    position = std::min(position, stream_length_);
  }
  return position;
}

std::int64_t ChunkPass::earliest_input_needed() const {
  // A chunk not taken yet may turn out short and read up to (segment - 1) / 2
  // frames before its offset.
  std::int64_t earliest = next_offset_ - (segment_length_ - 1) / 2 - delay_;
  for (const ChunkWindow& window : pending_) {
    earliest = std::min(earliest, input_position(window));
  }
  return earliest;
}

}  // namespace demucs
