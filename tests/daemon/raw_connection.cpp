#include "raw_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace demucs::testing {

RawConnection::RawConnection(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) close();
}

RawConnection::~RawConnection() { close(); }

void RawConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawConnection::send(const std::string &bytes) {
  std::size_t sent = 0;
  while (fd_ >= 0 && sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    sent += static_cast<std::size_t>(n);
  }
  return fd_ >= 0;
}

bool RawConnection::receive(double seconds, std::string &into) {
  if (fd_ < 0 || peer_closed_) return false;
  pollfd wait{fd_, POLLIN, 0};
  const int ready = poll(&wait, 1, static_cast<int>(seconds * 1000));
  if (ready <= 0) return true;
  char buffer[16384];
  const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
  if (n <= 0) {
    peer_closed_ = true;
    return false;
  }
  into.append(buffer, static_cast<std::size_t>(n));
  return true;
}

std::string RawConnection::read_until_closed(double seconds) {
  std::string text;
  const gint64 end = g_get_monotonic_time() + static_cast<gint64>(seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time() < end)
    if (!receive((end - g_get_monotonic_time()) / 1e6, text)) break;
  return text;
}

std::string RawConnection::read_response(double seconds) {
  std::string text;
  const gint64 end = g_get_monotonic_time() + static_cast<gint64>(seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time() < end) {
    const std::size_t head_end = text.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      gchar *head = g_ascii_strdown(text.c_str(), static_cast<gssize>(head_end));
      const char *field = std::strstr(head, "content-length:");
      const std::size_t length = field ? std::strtoul(field + 15, nullptr, 10) : 0;
      g_free(head);
      if (text.size() >= head_end + 4 + length) break;
    }
    if (!receive((end - g_get_monotonic_time()) / 1e6, text)) break;
  }
  return text;
}

std::string RawConnection::read_at_least(std::size_t bytes, double seconds) {
  std::string text;
  const gint64 end = g_get_monotonic_time() + static_cast<gint64>(seconds * G_USEC_PER_SEC);
  while (text.size() < bytes && g_get_monotonic_time() < end)
    if (!receive((end - g_get_monotonic_time()) / 1e6, text)) break;
  return text;
}

bool RawConnection::closed_within(double seconds) {
  std::string ignored;
  const gint64 end = g_get_monotonic_time() + static_cast<gint64>(seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time() < end)
    if (!receive((end - g_get_monotonic_time()) / 1e6, ignored)) return true;
  return peer_closed_;
}

unsigned status_of(const std::string &response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return static_cast<unsigned>(std::strtoul(response.c_str() + 9, nullptr, 10));
}

}  // namespace demucs::testing
