// A tiny HTTP/1.1 server on 127.0.0.1 for the downloader tests: serves fixed
// bodies by path from a thread of its own, answers 404 otherwise, and can
// announce more bytes than it sends (a transfer cut in the middle).
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace demucs {

class LoopbackHttpServer {
 public:
  struct Response {
    int status = 200;
    std::string body;
    /// Content-Length to announce; when larger than body.size() the server
    /// closes the connection after the body: a cut transfer. -1: body.size().
    long long announced_length = -1;
    /// After the body, keep the connection open (sending nothing) until the
    /// server stops: a stalled transfer.
    bool stall_after_body = false;
  };

  /// Listens on 127.0.0.1 at a free port and starts serving.
  LoopbackHttpServer();
  /// Stops the thread and closes the socket.
  ~LoopbackHttpServer();

  LoopbackHttpServer(const LoopbackHttpServer &) = delete;
  LoopbackHttpServer &operator=(const LoopbackHttpServer &) = delete;

  /// Answers GET `path` (starting with '/') with `response`.
  void serve(const std::string &path, Response response);

  int port() const { return port_; }
  /// "http://127.0.0.1:<port>/"
  std::string root_url() const;
  /// The paths requested so far, in order.
  std::vector<std::string> requested_paths() const;

 private:
  void accept_loop();
  void answer(int connection);

  int listener_ = -1;
  int port_ = 0;
  int wake_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::map<std::string, Response> responses_;
  std::vector<std::string> requested_paths_;
  std::thread thread_;
};

/// A TCP port on 127.0.0.1 that nothing listens on (connections are refused).
int closed_loopback_port();

}  // namespace demucs
