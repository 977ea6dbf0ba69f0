#include "interrupt_cancellation.h"

#include <pthread.h>
#include <signal.h>

#include <thread>

namespace demucs {

GCancellable *cancel_on_interrupt() {
  static GCancellable *cancellable = nullptr;
  if (cancellable != nullptr) return cancellable;
  cancellable = g_cancellable_new();

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::thread([signals]() {
    int received = 0;
    if (sigwait(&signals, &received) == 0) g_cancellable_cancel(cancellable);
  }).detach();
  return cancellable;
}

}  // namespace demucs
