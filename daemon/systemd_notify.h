// systemd's readiness protocol (sd_notify(3)) without libsystemd: when
// NOTIFY_SOCKET is set (Type=notify units), a datagram "READY=1" once the
// daemon listens, "STOPPING=1" when it begins to stop. Nothing otherwise.
#pragma once

namespace demucs {

/// Sends `state` ("READY=1", "STOPPING=1", "STATUS=...") to systemd, if it
/// is listening; false when it is not or the send failed.
bool notify_systemd(const char *state);

}  // namespace demucs
