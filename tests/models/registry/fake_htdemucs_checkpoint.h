// A stand-in for htdemucs's checkpoint in end-to-end tests of fetching.
#pragma once

namespace demucs {

/// 81 bytes (not a checkpoint) whose sha256 starts with 8726e21a, the prefix in
/// the name of htdemucs's published checkpoint 955717e8-8726e21a.th. Found once
/// by trying nonces (about 2^32 sha256 computations). Served under the real name
/// by a local server, it lets tests run `demucs-vocals fetch htdemucs` through the
/// production registry and the unweakened hash check, with no test-only hook in
/// the program.
inline constexpr const char *kFakeHtdemucsCheckpoint =
    "demucs-vocals test fixture: not a model, served by a test nonce 0000000124e15617\n";

}  // namespace demucs
