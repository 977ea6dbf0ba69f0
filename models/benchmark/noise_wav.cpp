#include "benchmark/noise_wav.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <stdexcept>

namespace demucs::benchmark {

namespace {

// WAVE_FORMAT_IEEE_FLOAT: RIFF, fmt (18 bytes, cbSize 0), fact, data.
constexpr std::uint16_t kFloatFormat = 3;
constexpr std::size_t kHeaderBytes = 12 + 8 + 18 + 12 + 8;

void put_u16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>(v >> 8);
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out += static_cast<char>((v >> (8 * i)) & 0xff);
  }
}

std::uint32_t get_u32(const char* at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(at[i])) << (8 * i);
  }
  return v;
}

std::string header(std::int64_t frames, int rate) {
  const std::uint64_t data_bytes = static_cast<std::uint64_t>(frames) * kNoiseChannels * sizeof(float);
  if (data_bytes + kHeaderBytes - 8 > UINT32_MAX) {
    throw std::runtime_error("too long for a WAV file: " + std::to_string(frames) + " frames");
  }
  std::string out = "RIFF";
  put_u32(out, static_cast<std::uint32_t>(kHeaderBytes - 8 + data_bytes));
  out += "WAVEfmt ";
  put_u32(out, 18);
  put_u16(out, kFloatFormat);
  put_u16(out, kNoiseChannels);
  put_u32(out, static_cast<std::uint32_t>(rate));
  put_u32(out, static_cast<std::uint32_t>(rate * kNoiseChannels * sizeof(float)));
  put_u16(out, kNoiseChannels * sizeof(float));
  put_u16(out, 32);
  put_u16(out, 0);
  out += "fact";
  put_u32(out, 4);
  put_u32(out, static_cast<std::uint32_t>(frames));
  out += "data";
  put_u32(out, static_cast<std::uint32_t>(data_bytes));
  return out;
}

}  // namespace

void write_noise_wav(const std::string& path, std::int64_t frames, int rate, std::uint64_t seed) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const std::string head = header(frames, rate);
  out.write(head.data(), static_cast<std::streamsize>(head.size()));
  std::mt19937_64 generator(seed);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  std::vector<float> piece;
  for (std::int64_t done = 0; done < frames;) {
    const std::int64_t n = std::min<std::int64_t>(frames - done, 65536);
    piece.resize(static_cast<std::size_t>(n) * kNoiseChannels);
    for (float& sample : piece) {
      sample = std::clamp(noise(generator), -1.0f, 1.0f);
    }
    out.write(reinterpret_cast<const char*>(piece.data()), static_cast<std::streamsize>(piece.size() * sizeof(float)));
    done += n;
  }
  if (!out.flush()) {
    throw std::runtime_error("cannot write " + path);
  }
}

NoiseWavReader::NoiseWavReader(const std::string& path) : in_(path, std::ios::binary) {
  char head[kHeaderBytes];
  if (!in_.read(head, sizeof head) || std::memcmp(head, "RIFF", 4) != 0 || std::memcmp(head + 8, "WAVEfmt ", 8) != 0 ||
      std::memcmp(head + kHeaderBytes - 8, "data", 4) != 0 ||
      (static_cast<unsigned char>(head[20]) | (static_cast<unsigned char>(head[21]) << 8)) != kFloatFormat ||
      head[22] != kNoiseChannels) {
    throw std::runtime_error(path + " is not a stereo float WAV file written by this benchmark");
  }
  rate_ = static_cast<int>(get_u32(head + 24));
  frames_ = get_u32(head + kHeaderBytes - 4) / (kNoiseChannels * sizeof(float));
}

const std::vector<float>& NoiseWavReader::read(std::int64_t frames) {
  const std::int64_t n = std::min(frames, frames_ - frames_read_);
  piece_.resize(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)) * kNoiseChannels);
  if (n > 0 && !in_.read(reinterpret_cast<char*>(piece_.data()), static_cast<std::streamsize>(piece_.size() * sizeof(float)))) {
    throw std::runtime_error("the WAV file ends early");
  }
  frames_read_ += std::max<std::int64_t>(n, 0);
  return piece_;
}

std::int64_t wav_file_frames(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char riff[12];
  if (!in.read(riff, sizeof riff) || std::memcmp(riff, "RIFF", 4) != 0 || std::memcmp(riff + 8, "WAVE", 4) != 0) {
    throw std::runtime_error(path + " is not a WAV file");
  }
  std::uint32_t block_align = 0;
  char chunk[8];
  while (in.read(chunk, sizeof chunk)) {
    const std::uint32_t size = get_u32(chunk + 4);
    if (std::memcmp(chunk, "fmt ", 4) == 0) {
      std::vector<char> fmt(size);
      if (size < 16 || !in.read(fmt.data(), size)) {
        break;
      }
      block_align = static_cast<unsigned char>(fmt[12]) | (static_cast<unsigned char>(fmt[13]) << 8);
      in.seekg(size % 2, std::ios::cur);
    } else if (std::memcmp(chunk, "data", 4) == 0 && block_align > 0) {
      return size / block_align;
    } else {
      in.seekg(size + size % 2, std::ios::cur);
    }
  }
  throw std::runtime_error(path + ": no fmt and data chunks");
}

}  // namespace demucs::benchmark
