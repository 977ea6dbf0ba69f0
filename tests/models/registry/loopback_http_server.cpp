#include "loopback_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace demucs {

namespace {

std::string reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    default: return "Status";
  }
}

// Binds a TCP socket to 127.0.0.1:0 and returns it with the port chosen.
int bound_loopback_socket(int &port) {
  const int socket_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (socket_fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (bind(socket_fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
    close(socket_fd);
    throw std::runtime_error("bind(127.0.0.1:0) failed");
  }
  socklen_t length = sizeof address;
  getsockname(socket_fd, reinterpret_cast<sockaddr *>(&address), &length);
  port = ntohs(address.sin_port);
  return socket_fd;
}

void send_all(int connection, const char *data, std::size_t size) {
  while (size > 0) {
    const ssize_t sent = send(connection, data, size, MSG_NOSIGNAL);
    if (sent <= 0) return;  // the client went away: nothing more to do
    data += sent;
    size -= static_cast<std::size_t>(sent);
  }
}

}  // namespace

LoopbackHttpServer::LoopbackHttpServer() {
  listener_ = bound_loopback_socket(port_);
  if (listen(listener_, 16) != 0) throw std::runtime_error("listen() failed");
  if (pipe(wake_pipe_) != 0) throw std::runtime_error("pipe() failed");
  thread_ = std::thread([this] { accept_loop(); });
}

LoopbackHttpServer::~LoopbackHttpServer() {
  stopping_ = true;
  const char wake = 'x';
  if (write(wake_pipe_[1], &wake, 1) != 1) {
    // the poll below also wakes up on the closed socket
  }
  thread_.join();
  close(listener_);
  close(wake_pipe_[0]);
  close(wake_pipe_[1]);
}

void LoopbackHttpServer::serve(const std::string &path, Response response) {
  std::lock_guard<std::mutex> lock(mutex_);
  responses_[path] = std::move(response);
}

std::string LoopbackHttpServer::root_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/";
}

std::vector<std::string> LoopbackHttpServer::requested_paths() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requested_paths_;
}

void LoopbackHttpServer::accept_loop() {
  while (!stopping_) {
    pollfd watched[2] = {{listener_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (poll(watched, 2, -1) < 0) continue;
    if (watched[1].revents != 0) break;
    if (watched[0].revents & POLLIN) {
      const int connection = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (connection >= 0) {
        answer(connection);
        close(connection);
      }
    }
  }
}

void LoopbackHttpServer::answer(int connection) {
  std::string request;
  char buffer[4096];
  while (request.find("\r\n\r\n") == std::string::npos) {
    const ssize_t got = recv(connection, buffer, sizeof buffer, 0);
    if (got <= 0) return;
    request.append(buffer, static_cast<std::size_t>(got));
  }
  // "GET /path HTTP/1.1"
  const std::size_t path_start = request.find(' ') + 1;
  const std::string path = request.substr(path_start, request.find(' ', path_start) - path_start);

  Response response;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requested_paths_.push_back(path);
    const auto found = responses_.find(path);
    if (found != responses_.end())
      response = found->second;
    else
      response = Response{404, "not found\n", -1, false};
  }

  const long long length = response.announced_length >= 0
                               ? response.announced_length
                               : static_cast<long long>(response.body.size());
  const std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " +
                           reason_phrase(response.status) +
                           "\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                           std::to_string(length) + "\r\nConnection: close\r\n\r\n";
  send_all(connection, head.data(), head.size());
  send_all(connection, response.body.data(), response.body.size());
  if (response.stall_after_body) {
    pollfd wake = {wake_pipe_[0], POLLIN, 0};
    while (poll(&wake, 1, -1) < 0) {
    }
  }
  shutdown(connection, SHUT_WR);
}

int closed_loopback_port() {
  int port = 0;
  const int socket_fd = bound_loopback_socket(port);
  close(socket_fd);  // bound but never listening: the port is free and refuses
  return port;
}

}  // namespace demucs
