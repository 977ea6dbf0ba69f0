// The daemon's own listening socket, in front of libsoup's server, for what
// libsoup 3.2's listener does not do:
//
// - It never stops accepting. libsoup's listener removes itself for good
//   when one accept() fails (EMFILE: out of descriptors), leaving a daemon
//   that looks alive and serves nobody. Here a failed accept pauses
//   accepting for a moment and then goes on.
// - At most `max_connections` connections are open; one more is answered
//   "503" (plain HTTP) and closed at once.
// - A connection that sends or takes no byte for `idle_timeout_seconds` is
//   closed (the socket's timeout, which every read and write that libsoup
//   waits for honours), so slow or silent clients cannot hold descriptors.
// - Every request has deadlines for its headers and for all of it
//   (request_deadline.h), so that clients that trickle cannot hold
//   connections either.
// - HTTPS: with a certificate, each connection is a TLS server connection
//   whose handshake is done here before libsoup sees the stream. The
//   handshake, too, must be done within the header deadline: a client that
//   trickles its ClientHello a byte at a time never reaches the idle timeout.
//
// Accepted connections go to the SoupServer with soup_server_accept_iostream.
#pragma once

#include "request_deadline.h"

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <set>

namespace demucs {

struct ListenerSettings {
  int idle_timeout_seconds = 30;
  int max_connections = 256;
  GTlsCertificate *certificate = nullptr;  ///< not owned (the listener takes a reference); null: plain HTTP
  RequestDeadlineSettings deadlines;
};

class HttpListener {
 public:
  HttpListener(SoupServer *server, const ListenerSettings &settings);
  /// Stops accepting; open connections stay with the SoupServer.
  ~HttpListener();
  HttpListener(const HttpListener &) = delete;
  HttpListener &operator=(const HttpListener &) = delete;

  /// Binds `address` and starts accepting on the default main context.
  bool listen(GSocketAddress *address, GError **error);
  /// The port bound (0 before listen()).
  int port() const;
  bool is_https() const { return certificate_ != nullptr; }
  /// Connections accepted and not yet closed.
  int open_connections() const { return static_cast<int>(connections_.size()); }

 private:
  static gboolean on_incoming(GSocket *, GIOCondition, gpointer self);
  static gboolean on_resume(gpointer self);
  static void on_connection_gone(gpointer self, GObject *connection);
  struct Handshake;
  static void on_handshake_done(GObject *tls, GAsyncResult *result, gpointer handshake);
  static gboolean on_handshake_deadline(gpointer handshake);

  void watch();
  void accept_waiting();
  void pause_after_failure(const GError *error);
  void refuse(GSocket *client);
  void hand_over(GSocket *client);
  void give_to_server(GIOStream *stream, GSocketConnection *connection);

  SoupServer *server_;
  ListenerSettings settings_;
  GTlsCertificate *certificate_ = nullptr;
  GSocket *socket_ = nullptr;
  GSource *incoming_ = nullptr;
  guint resume_source_ = 0;
  std::set<Handshake *> handshakes_;  // under way; cancelled when the listener goes
  std::set<GObject *> connections_;   // weakly referenced GSocketConnections
  gint64 last_refusal_log_ = 0;
  RequestDeadlines deadlines_;
};

}  // namespace demucs
