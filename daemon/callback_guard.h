// Where GLib or libsoup calls into the daemon (a request handler, a timer, a
// worker's event), an exception must not go further: it would reach C code
// and end the process (std::terminate), taking every other job with it. A
// full disk makes SQLite throw, for one. Each such entry point runs its body
// through guarded(), which logs what escaped and goes on.
#pragma once

#include "daemon_log.h"

#include <exception>

namespace demucs {

template <typename Body>
void guarded(const char *where, Body &&body) noexcept {
  try {
    body();
  } catch (const std::exception &error) {
    daemon_log("error in %s: %s", where, error.what());
  } catch (...) {
    daemon_log("error in %s: unknown exception", where);
  }
}

}  // namespace demucs
