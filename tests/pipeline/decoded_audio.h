// Decodes an audio file (wav, flac, mp3, ...) with GStreamer into float32
// samples, to compare what a separation wrote with a reference.
#pragma once

#include "support/wav_file.h"

#include <string>

namespace demucs::testing {

// The file's audio at its own rate and channel count, as float32 (channels,
// frames). Throws std::runtime_error when it cannot be decoded.
WavAudio decode_audio_file(const std::string &path);

}  // namespace demucs::testing
