// SHA-256 (FIPS 180-4), computed incrementally: what the model cache needs to
// verify checkpoints without any library beyond the C++ standard one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace demucs {

class Sha256 {
 public:
  Sha256();

  /// Appends `size` bytes to the message.
  void update(const void *data, std::size_t size);

  /// The lowercase hex digest of everything appended so far (64 characters).
  /// The object is left unchanged: more bytes can follow.
  std::string hex_digest() const;

 private:
  void compress(const std::uint8_t *block);

  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> pending_{};
  std::size_t pending_size_ = 0;
  std::uint64_t total_bytes_ = 0;
};

}  // namespace demucs
