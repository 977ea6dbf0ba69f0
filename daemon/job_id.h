// Job ids: 122 random bits from the kernel's CSPRNG (getrandom), written as
// a UUID version 4. A job id is the only name of a job's files and results,
// so it must not be guessable (GLib's g_uuid_string_random and g_random are
// not cryptographic generators).
#pragma once

#include <string>

namespace demucs {

/// "3f0c2a9e-8d1b-4c7a-9f2e-5b6d7e8f9a0b". Throws std::system_error if the
/// kernel gives no random bytes.
std::string new_job_id();

/// A 128-bit random value as UUIDv4 text (version and variant bits set).
std::string uuid_v4_from_bytes(const unsigned char (&bytes)[16]);

}  // namespace demucs
