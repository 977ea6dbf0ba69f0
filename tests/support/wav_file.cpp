#include "support/wav_file.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace demucs::testing {

namespace {

uint32_t le32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint16_t le16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

}  // namespace

WavAudio read_wav(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error(path + ": cannot open");
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 ||
      std::memcmp(bytes.data() + 8, "WAVE", 4) != 0) {
    throw std::runtime_error(path + ": not a RIFF/WAVE file");
  }
  int format = 0, channels = 0, bits = 0, samplerate = 0;
  size_t pos = 12;
  while (pos + 8 <= bytes.size()) {
    const char* chunk = bytes.data() + pos;
    const size_t size = le32(chunk + 4);
    const char* body = chunk + 8;
    if (std::memcmp(chunk, "fmt ", 4) == 0) {
      format = le16(body);
      channels = le16(body + 2);
      samplerate = static_cast<int>(le32(body + 4));
      bits = le16(body + 14);
      if (format == 0xFFFE && size >= 26) {  // WAVE_FORMAT_EXTENSIBLE: the sub-format's first two bytes
        format = le16(body + 24);
      }
    } else if (std::memcmp(chunk, "data", 4) == 0) {
      const size_t avail = std::min(size, bytes.size() - pos - 8);
      if (channels <= 0) {
        throw std::runtime_error(path + ": data before fmt chunk");
      }
      WavAudio audio;
      audio.samplerate = samplerate;
      if (format == 1 && bits == 16) {
        const int64_t frames = static_cast<int64_t>(avail / (2 * channels));
        at::Tensor pcm = at::empty({frames, channels}, at::kShort);
        std::memcpy(pcm.data_ptr(), body, static_cast<size_t>(frames * channels * 2));
        audio.samples = (pcm.to(at::kFloat) / 32768.0f).t().contiguous();
      } else if (format == 3 && bits == 32) {
        const int64_t frames = static_cast<int64_t>(avail / (4 * channels));
        at::Tensor pcm = at::empty({frames, channels}, at::kFloat);
        std::memcpy(pcm.data_ptr(), body, static_cast<size_t>(frames * channels * 4));
        audio.samples = pcm.t().contiguous();
      } else {
        throw std::runtime_error(path + ": unsupported WAV format " + std::to_string(format) + "/" +
                                 std::to_string(bits) + " bits");
      }
      return audio;
    }
    pos += 8 + size + (size & 1);
  }
  throw std::runtime_error(path + ": no data chunk");
}

void write_wav(const std::string& path, const at::Tensor& samples, int samplerate) {
  const at::Tensor interleaved = samples.to(at::kFloat).t().contiguous();
  const auto channels = static_cast<uint16_t>(samples.size(0));
  const auto data_bytes = static_cast<uint32_t>(interleaved.numel() * 4);
  std::ofstream out(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
  out.write("RIFF", 4);
  u32(36 + data_bytes);
  out.write("WAVEfmt ", 8);
  u32(16);
  u16(3);
  u16(channels);
  u32(static_cast<uint32_t>(samplerate));
  u32(static_cast<uint32_t>(samplerate) * channels * 4);
  u16(static_cast<uint16_t>(channels * 4));
  u16(32);
  out.write("data", 4);
  u32(data_bytes);
  out.write(static_cast<const char*>(interleaved.data_ptr()), data_bytes);
  if (!out) {
    throw std::runtime_error(path + ": write failed");
  }
}

std::string write_repeated_wav(const std::string& source, int times, const std::string& path) {
  const WavAudio audio = read_wav(source);
  write_wav(path, audio.samples.repeat({1, times}), audio.samplerate);
  return path;
}

}  // namespace demucs::testing
