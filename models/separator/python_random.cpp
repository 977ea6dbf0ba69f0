#include "separator/python_random.h"

#include <algorithm>
#include <stdexcept>

namespace demucs {

namespace {
constexpr int kShift = 397;
constexpr std::uint32_t kMatrixA = 0x9908b0dfU;
constexpr std::uint32_t kUpperMask = 0x80000000U;
constexpr std::uint32_t kLowerMask = 0x7fffffffU;

int bit_length(std::uint64_t n) {
  int bits = 0;
  while (n != 0) {
    ++bits;
    n >>= 1;
  }
  return bits;
}
}  // namespace

PythonRandom::PythonRandom(std::uint64_t seed) { this->seed(seed); }

void PythonRandom::seed(std::uint64_t seed) {
  std::vector<std::uint32_t> key;
  do {
    key.push_back(static_cast<std::uint32_t>(seed & 0xffffffffU));
    seed >>= 32;
  } while (seed != 0);
  init_by_array(key);
}

void PythonRandom::init_genrand(std::uint32_t seed) {
  state_[0] = seed;
  for (int i = 1; i < kStateSize; ++i) {
    const std::uint32_t previous = state_[i - 1];
    state_[i] = 1812433253U * (previous ^ (previous >> 30)) + static_cast<std::uint32_t>(i);
  }
  index_ = kStateSize;
}

void PythonRandom::init_by_array(const std::vector<std::uint32_t>& key) {
  init_genrand(19650218U);
  const int key_length = static_cast<int>(key.size());
  int i = 1;
  int j = 0;
  for (int k = std::max(kStateSize, key_length); k > 0; --k) {
    const std::uint32_t previous = state_[i - 1];
    state_[i] = (state_[i] ^ ((previous ^ (previous >> 30)) * 1664525U)) + key[j] +
                static_cast<std::uint32_t>(j);
    ++i;
    ++j;
    if (i >= kStateSize) {
      state_[0] = state_[kStateSize - 1];
      i = 1;
    }
    if (j >= key_length) {
      j = 0;
    }
  }
  for (int k = kStateSize - 1; k > 0; --k) {
    const std::uint32_t previous = state_[i - 1];
    state_[i] = (state_[i] ^ ((previous ^ (previous >> 30)) * 1566083941U)) -
                static_cast<std::uint32_t>(i);
    ++i;
    if (i >= kStateSize) {
      state_[0] = state_[kStateSize - 1];
      i = 1;
    }
  }
  state_[0] = 0x80000000U;
  index_ = kStateSize;
}

void PythonRandom::regenerate() {
  for (int k = 0; k < kStateSize; ++k) {
    const std::uint32_t y = (state_[k] & kUpperMask) | (state_[(k + 1) % kStateSize] & kLowerMask);
    state_[k] = state_[(k + kShift) % kStateSize] ^ (y >> 1) ^ ((y & 1U) != 0 ? kMatrixA : 0U);
  }
  index_ = 0;
}

std::uint32_t PythonRandom::next_uint32() {
  if (index_ >= kStateSize) {
    regenerate();
  }
  std::uint32_t y = state_[index_++];
  y ^= (y >> 11);
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= (y >> 18);
  return y;
}

std::uint64_t PythonRandom::getrandbits(int bits) {
  if (bits < 0 || bits > 64) {
    throw std::invalid_argument("PythonRandom::getrandbits: bits must be in [0, 64]");
  }
  if (bits == 0) {
    return 0;
  }
  // CPython fills 32-bit words from the least significant one; the last
  // (partial) word keeps the high bits of its draw.
  std::uint64_t result = 0;
  int shift = 0;
  for (int remaining = bits; remaining > 0; remaining -= 32, shift += 32) {
    std::uint32_t word = next_uint32();
    if (remaining < 32) {
      word >>= (32 - remaining);
    }
    result |= static_cast<std::uint64_t>(word) << shift;
  }
  return result;
}

std::uint64_t PythonRandom::randbelow(std::uint64_t n) {
  if (n == 0) {
    throw std::invalid_argument("PythonRandom::randbelow: n must be positive");
  }
  const int bits = bit_length(n);
  std::uint64_t r = getrandbits(bits);
  while (r >= n) {
    r = getrandbits(bits);
  }
  return r;
}

std::int64_t PythonRandom::randint(std::int64_t low, std::int64_t high) {
  if (low > high) {
    throw std::invalid_argument("PythonRandom::randint: empty range");
  }
  const std::uint64_t width = static_cast<std::uint64_t>(high - low) + 1;
  return low + static_cast<std::int64_t>(randbelow(width));
}

}  // namespace demucs
