#include "http_listener.h"

#include "daemon_log.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <memory>
#include <string>

namespace demucs {

namespace {

constexpr int kAcceptsPerWakeUp = 64;
constexpr guint kPauseAfterFailureMs = 250;
constexpr gint64 kLogEveryUs = 5 * G_USEC_PER_SEC;

// What a connection over the limit is told before it is closed.
const std::string &busy_reply() {
  static const std::string body = "{\"error\":\"The server has too many open connections. Try again soon.\"}\n";
  static const std::string reply =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\n"
      "Connection: close\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  return reply;
}

void close_socket(GSocket *socket) {
  g_socket_close(socket, nullptr);
  g_object_unref(socket);
}

}  // namespace

// One TLS handshake under way, owned by its callback (on_handshake_done),
// which always runs: it outlives the listener when the listener goes first
// (then `listener` is null and the handshake cancelled).
struct HttpListener::Handshake {
  explicit Handshake(HttpListener *owner) : listener(owner) {}
  ~Handshake() {
    if (deadline) g_source_remove(deadline);
    g_object_unref(cancellable);
  }
  Handshake(const Handshake &) = delete;
  Handshake &operator=(const Handshake &) = delete;

  HttpListener *listener;
  GCancellable *cancellable = g_cancellable_new();
  guint deadline = 0;  // the header-deadline timer, until it fires
};

HttpListener::HttpListener(SoupServer *server, const ListenerSettings &settings)
    : server_(server), settings_(settings), deadlines_(server, settings.deadlines) {
  if (settings.certificate) certificate_ = G_TLS_CERTIFICATE(g_object_ref(settings.certificate));
  settings_.certificate = nullptr;
}

HttpListener::~HttpListener() {
  if (incoming_) {
    g_source_destroy(incoming_);
    g_source_unref(incoming_);
  }
  if (resume_source_) g_source_remove(resume_source_);
  for (Handshake *handshake : handshakes_) {
    handshake->listener = nullptr;
    g_cancellable_cancel(handshake->cancellable);
  }
  for (GObject *connection : connections_) g_object_weak_unref(connection, on_connection_gone, this);
  if (socket_) close_socket(socket_);
  g_clear_object(&certificate_);
}

bool HttpListener::listen(GSocketAddress *address, GError **error) {
  socket_ = g_socket_new(g_socket_address_get_family(address), G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket_ == nullptr) return false;
  g_socket_set_listen_backlog(socket_, 128);
  if (!g_socket_bind(socket_, address, TRUE, error) || !g_socket_listen(socket_, error)) {
    close_socket(socket_);
    socket_ = nullptr;
    return false;
  }
  g_socket_set_blocking(socket_, FALSE);
  watch();
  return true;
}

int HttpListener::port() const {
  if (socket_ == nullptr) return 0;
  GSocketAddress *address = g_socket_get_local_address(socket_, nullptr);
  if (address == nullptr) return 0;
  const int port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(address));
  g_object_unref(address);
  return port;
}

void HttpListener::watch() {
  incoming_ = g_socket_create_source(socket_, G_IO_IN, nullptr);
  g_source_set_callback(incoming_, G_SOURCE_FUNC(on_incoming), this, nullptr);
  g_source_attach(incoming_, nullptr);
}

gboolean HttpListener::on_incoming(GSocket *, GIOCondition, gpointer data) {
  auto *self = static_cast<HttpListener *>(data);
  self->accept_waiting();
  return self->incoming_ ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

void HttpListener::accept_waiting() {
  for (int i = 0; i < kAcceptsPerWakeUp; ++i) {
    GError *error = nullptr;
    GSocket *client = g_socket_accept(socket_, nullptr, &error);
    if (client == nullptr) {
      if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) pause_after_failure(error);
      g_error_free(error);
      return;
    }
    if (open_connections() >= settings_.max_connections)
      refuse(client);
    else
      hand_over(client);
  }
}

// Out of descriptors (or another passing failure): the waiting connection
// stays in the kernel's queue, and the socket stays readable, so wait a
// moment instead of spinning, then go on.
void HttpListener::pause_after_failure(const GError *error) {
  const gint64 now = g_get_monotonic_time();
  if (now - last_refusal_log_ >= kLogEveryUs) {
    last_refusal_log_ = now;
    daemon_log("cannot accept a connection (%s, %d open): trying again in %u ms", error->message,
               open_connections(), kPauseAfterFailureMs);
  }
  g_source_destroy(incoming_);
  g_source_unref(incoming_);
  incoming_ = nullptr;
  resume_source_ = g_timeout_add(kPauseAfterFailureMs, on_resume, this);
}

gboolean HttpListener::on_resume(gpointer data) {
  auto *self = static_cast<HttpListener *>(data);
  self->resume_source_ = 0;
  self->watch();
  return G_SOURCE_REMOVE;
}

void HttpListener::refuse(GSocket *client) {
  const gint64 now = g_get_monotonic_time();
  if (now - last_refusal_log_ >= kLogEveryUs) {
    last_refusal_log_ = now;
    daemon_log("connection limit reached (%d open, --max-connections): refusing new connections",
               open_connections());
  }
  if (!is_https()) {
    g_socket_set_blocking(client, FALSE);
    g_socket_send(client, busy_reply().data(), busy_reply().size(), nullptr, nullptr);  // best effort
  }
  close_socket(client);
}

void HttpListener::hand_over(GSocket *client) {
  g_socket_set_timeout(client, static_cast<guint>(settings_.idle_timeout_seconds));
  g_socket_set_option(client, IPPROTO_TCP, TCP_NODELAY, TRUE, nullptr);
  GSocketConnection *connection = g_socket_connection_factory_create_connection(client);
  g_object_unref(client);
  connections_.insert(G_OBJECT(connection));
  g_object_weak_ref(G_OBJECT(connection), on_connection_gone, this);

  if (!is_https()) {
    give_to_server(G_IO_STREAM(connection), connection);
    g_object_unref(connection);
    return;
  }
  GError *error = nullptr;
  GIOStream *tls = g_tls_server_connection_new(G_IO_STREAM(connection), certificate_, &error);
  g_object_unref(connection);  // the TLS connection holds it
  if (tls == nullptr) {
    daemon_log("cannot start TLS on a connection: %s", error->message);
    g_error_free(error);
    return;
  }
  // The handshake's reads and writes honour the socket's idle timeout; all
  // of it must be done within the header deadline.
  auto *handshake = new Handshake(this);
  handshake->deadline = g_timeout_add(static_cast<guint>(settings_.deadlines.header_timeout_seconds) * 1000u,
                                      on_handshake_deadline, handshake);
  handshakes_.insert(handshake);
  g_tls_connection_handshake_async(G_TLS_CONNECTION(tls), G_PRIORITY_DEFAULT, handshake->cancellable,
                                   on_handshake_done, handshake);
}

gboolean HttpListener::on_handshake_deadline(gpointer data) {
  auto *handshake = static_cast<Handshake *>(data);
  handshake->deadline = 0;
  g_cancellable_cancel(handshake->cancellable);  // on_handshake_done closes the connection
  return G_SOURCE_REMOVE;
}

void HttpListener::on_handshake_done(GObject *source, GAsyncResult *result, gpointer data) {
  const std::unique_ptr<Handshake> handshake(static_cast<Handshake *>(data));
  HttpListener *self = handshake->listener;
  if (self != nullptr) self->handshakes_.erase(handshake.get());

  GTlsConnection *tls = G_TLS_CONNECTION(source);
  GError *error = nullptr;
  const bool done = g_tls_connection_handshake_finish(tls, result, &error);
  // Not done: cancelled (past the deadline, or the listener is gone), or a
  // client that is not speaking TLS, or that gave up: nothing to log for each.
  g_clear_error(&error);
  GIOStream *base = nullptr;
  g_object_get(tls, "base-io-stream", &base, nullptr);
  if (done && self != nullptr)
    self->give_to_server(G_IO_STREAM(tls), G_SOCKET_CONNECTION(base));
  else
    g_io_stream_close(base, nullptr, nullptr);  // no close_notify to a client that may not read it
  g_object_unref(base);
  g_object_unref(tls);
}

void HttpListener::give_to_server(GIOStream *stream, GSocketConnection *connection) {
  GSocket *socket = g_socket_connection_get_socket(connection);
  GSocketAddress *local = g_socket_get_local_address(socket, nullptr);
  GSocketAddress *remote = g_socket_get_remote_address(socket, nullptr);
  if (local && remote) {
    soup_server_accept_iostream(server_, stream, local, remote, nullptr);
  } else {
    g_io_stream_close(stream, nullptr, nullptr);  // the client is already gone
  }
  g_clear_object(&local);
  g_clear_object(&remote);
}

void HttpListener::on_connection_gone(gpointer data, GObject *connection) {
  static_cast<HttpListener *>(data)->connections_.erase(connection);
}

}  // namespace demucs
