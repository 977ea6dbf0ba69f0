// A TCP connection to the daemon on loopback that sends exactly the bytes a
// test gives it: half requests, endless chunked bodies, forged Host lines,
// connections that say nothing. For the attacks a well-behaved HTTP client
// library cannot make.
#pragma once

#include <cstddef>
#include <string>

namespace demucs::testing {

class RawConnection {
 public:
  /// Connects to 127.0.0.1:`port` (connected() tells whether it worked).
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection &) = delete;
  RawConnection &operator=(const RawConnection &) = delete;

  bool connected() const { return fd_ >= 0; }
  /// Sends all of `bytes`; false once the server has closed or reset.
  bool send(const std::string &bytes);
  /// What arrives until the server closes the connection or `seconds` pass.
  std::string read_until_closed(double seconds);
  /// What arrives until a whole response head ("\r\n\r\n") and Content-Length
  /// bytes of body are there, the connection closes, or `seconds` pass.
  std::string read_response(double seconds);
  /// What arrives until at least `bytes` are there, the connection closes,
  /// or `seconds` pass (a client that reads a little, then stops).
  std::string read_at_least(std::size_t bytes, double seconds);
  /// Whether the server closed (or reset) the connection within `seconds`.
  bool closed_within(double seconds);
  void close();

 private:
  // Waits up to `seconds` for bytes; appends them to `into`. Returns false
  // when the connection is closed (or reset), true otherwise.
  bool receive(double seconds, std::string &into);

  int fd_ = -1;
  bool peer_closed_ = false;
};

/// The status code of a raw response ("HTTP/1.1 421 ..." -> 421), 0 if none.
unsigned status_of(const std::string &response);

}  // namespace demucs::testing
