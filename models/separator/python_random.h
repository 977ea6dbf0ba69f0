// Python's `random` module (CPython's Mersenne Twister), bit for bit: the
// random shift offsets of upstream apply_model come from `random.randint`, so a
// seed given here reproduces `random.seed(seed); apply_model(...)`.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace demucs {

class PythonRandom {
 public:
  // As `random.seed(seed)` for a non-negative Python int.
  explicit PythonRandom(std::uint64_t seed);

  // As `random.seed(seed)`: init_by_array with the integer's 32-bit words,
  // least significant first (seed 0 gives the key [0]).
  void seed(std::uint64_t seed);

  // MT19937 genrand_uint32: the next 32 random bits.
  std::uint32_t next_uint32();

  // As `random.getrandbits(bits)`, 0 <= bits <= 64.
  std::uint64_t getrandbits(int bits);

  // As `random._randbelow(n)` for n >= 1: rejection sampling on n.bit_length() bits.
  std::uint64_t randbelow(std::uint64_t n);

  // As `random.randint(low, high)` (both included), low <= high.
  std::int64_t randint(std::int64_t low, std::int64_t high);

 private:
  static constexpr int kStateSize = 624;

  void init_genrand(std::uint32_t seed);
  void init_by_array(const std::vector<std::uint32_t>& key);
  void regenerate();

  std::array<std::uint32_t, kStateSize> state_{};
  int index_ = kStateSize;
};

}  // namespace demucs
