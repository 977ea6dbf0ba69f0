#include "request_deadline.h"

#include "reply_and_close.h"

namespace demucs {

namespace {

constexpr const char *kDeadlineKey = "demucs-request-deadline";

// One request's deadline; lives on the message (its data), so that it goes
// with it, and with end_request_deadline().
class RequestDeadline {
 public:
  RequestDeadline(SoupServerMessage *message, const RequestDeadlineSettings &settings)
      : message_(message), settings_(settings), start_(g_get_monotonic_time()) {
    arm(start_ + settings_.header_timeout_seconds * G_USEC_PER_SEC);
    // After libsoup's own handlers (the early handlers run in its "got-headers").
    g_signal_connect(message, "got-headers", G_CALLBACK(on_got_headers), this);
    g_signal_connect(message, "got-chunk", G_CALLBACK(on_got_chunk), this);
    g_signal_connect(message, "got-body", G_CALLBACK(on_got_body), this);
  }
  ~RequestDeadline() {
    disarm();
    g_signal_handlers_disconnect_by_data(message_, this);
  }
  RequestDeadline(const RequestDeadline &) = delete;
  RequestDeadline &operator=(const RequestDeadline &) = delete;

 private:
  void arm(gint64 at) {
    disarm();
    const gint64 wait_ms = (at - g_get_monotonic_time()) / 1000;
    timer_ = g_timeout_add(static_cast<guint>(wait_ms > 0 ? wait_ms : 0), on_deadline, this);
  }
  void disarm() {
    if (timer_) g_source_remove(timer_);
    timer_ = 0;
  }

  gint64 request_deadline() const {
    const gint64 body_allowance =
        settings_.min_body_bytes_per_second > 0 ? body_bytes_ * G_USEC_PER_SEC / settings_.min_body_bytes_per_second : 0;
    return start_ + settings_.request_timeout_seconds * G_USEC_PER_SEC + body_allowance;
  }

  static void on_got_headers(SoupServerMessage *, gpointer data) {
    auto *self = static_cast<RequestDeadline *>(data);
    self->headers_in_ = true;
    self->arm(self->request_deadline());
  }
  static void on_got_chunk(SoupServerMessage *, GBytes *chunk, gpointer data) {
    static_cast<RequestDeadline *>(data)->body_bytes_ += static_cast<gint64>(g_bytes_get_size(chunk));
  }
  static void on_got_body(SoupServerMessage *, gpointer data) { static_cast<RequestDeadline *>(data)->disarm(); }

  static gboolean on_deadline(gpointer data) {
    auto *self = static_cast<RequestDeadline *>(data);
    self->timer_ = 0;
    if (self->headers_in_ && g_get_monotonic_time() < self->request_deadline()) {
      self->arm(self->request_deadline());  // the body came fast enough to earn more time
      return G_SOURCE_REMOVE;
    }
    // From the main loop, never inside libsoup's reading: the connection
    // can be taken. This object goes with it.
    reply_error_and_close(self->message_, SOUP_STATUS_REQUEST_TIMEOUT,
                          self->headers_in_ ? "The request took too long to arrive."
                                            : "The request's headers took too long to arrive.");
    return G_SOURCE_REMOVE;
  }

  SoupServerMessage *message_;  // not owned: this lives on it
  RequestDeadlineSettings settings_;
  gint64 start_;
  gint64 body_bytes_ = 0;
  bool headers_in_ = false;
  guint timer_ = 0;
};

}  // namespace

RequestDeadlines::RequestDeadlines(SoupServer *server, const RequestDeadlineSettings &settings)
    : server_(server), settings_(settings) {
  g_signal_connect(server_, "request-started", G_CALLBACK(on_request_started), this);
}

RequestDeadlines::~RequestDeadlines() { g_signal_handlers_disconnect_by_data(server_, this); }

// Emitted when a request's first bytes arrive.
void RequestDeadlines::on_request_started(SoupServer *, SoupServerMessage *message, gpointer data) {
  auto *self = static_cast<RequestDeadlines *>(data);
  g_object_set_data_full(G_OBJECT(message), kDeadlineKey, new RequestDeadline(message, self->settings_),
                         [](gpointer deadline) { delete static_cast<RequestDeadline *>(deadline); });
}

void end_request_deadline(SoupServerMessage *message) { g_object_set_data(G_OBJECT(message), kDeadlineKey, nullptr); }

}  // namespace demucs
