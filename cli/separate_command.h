// `demucs-vocals separate SONG -o OUT`: separates one stem of an audio file
// through the demucsvocals GStreamer element. Also what `demucs-vocals SONG -o
// OUT` runs when SONG is an existing file.
#pragma once

#include "command.h"

namespace demucs {

Command separate_command();

}  // namespace demucs
