#include "event_stream.h"

#include "callback_guard.h"
#include "json_reply.h"

namespace demucs {

namespace {

// The stream's registration with the scheduler, undone when it goes: also
// when the stream's constructor throws after it (its members are destroyed
// then, the stream's destructor is not called).
class Subscription {
 public:
  Subscription(JobScheduler &scheduler, const std::string &id, JobScheduler::Listener listener)
      : scheduler_(scheduler), token_(scheduler.subscribe(id, std::move(listener))) {}
  ~Subscription() { cancel(); }
  Subscription(const Subscription &) = delete;
  Subscription &operator=(const Subscription &) = delete;

  void cancel() {
    if (token_) scheduler_.unsubscribe(token_);
    token_ = 0;
  }

 private:
  JobScheduler &scheduler_;
  int token_;
};

// A GLib timeout, removed when it goes.
class RepeatingTimeout {
 public:
  RepeatingTimeout(guint seconds, GSourceFunc callback, gpointer data)
      : id_(g_timeout_add_seconds(seconds, callback, data)) {}
  ~RepeatingTimeout() { g_source_remove(id_); }
  RepeatingTimeout(const RepeatingTimeout &) = delete;
  RepeatingTimeout &operator=(const RepeatingTimeout &) = delete;

 private:
  guint id_;
};

class EventStream {
 public:
  EventStream(SoupServerMessage *message, JobScheduler &scheduler, const Job &job, SlotCounter::Slot slot,
              guint keep_alive_seconds)
      : message_(message),
        scheduler_(scheduler),
        slot_(std::move(slot)),
        // The first event before any registration: it asks the store, which may throw.
        first_event_(event_text(job, false)),
        subscription_(scheduler, job.id,
                      [this](const Job &changed, bool deleted) {
                        guarded("an event stream", [&] { on_change(changed, deleted); });
                      }),
        keep_alive_(keep_alive_seconds, on_keep_alive, this) {
    SoupMessageHeaders *headers = soup_server_message_get_response_headers(message);
    soup_message_headers_set_content_type(headers, "text/event-stream", nullptr);
    soup_message_headers_set_encoding(headers, SOUP_ENCODING_CHUNKED);
    soup_message_headers_replace(headers, "Cache-Control", "no-store");
    soup_message_headers_replace(headers, "X-Accel-Buffering", "no");
    soup_message_body_set_accumulate(soup_server_message_get_response_body(message), FALSE);
    soup_server_message_set_status(message, SOUP_STATUS_OK, nullptr);
    // Last: from here on the message owns the stream, and nothing throws.
    g_signal_connect(message, "finished", G_CALLBACK(on_finished), this);
    send(first_event_);
    if (is_final(job)) end();
  }

 private:
  static bool is_final(const Job &job) {
    return job.status == JobStatus::completed || job.status == JobStatus::error;
  }

  std::string event_text(const Job &job, bool deleted) const {
    if (deleted) return "event: deleted\ndata: {\"job_id\":\"" + job.id + "\"}\n\n";
    std::optional<int> position;
    if (job.status == JobStatus::pending) position = scheduler_.queue_position(job.id);
    JsonNode *node = job_status_json(job, position);
    const std::string text = "event: status\ndata: " + json_text(node) + "\n\n";
    json_node_unref(node);
    return text;
  }

  void send(const std::string &text) {
    if (ended_) return;
    soup_message_body_append(soup_server_message_get_response_body(message_), SOUP_MEMORY_COPY, text.data(),
                             text.size());
    soup_server_message_unpause(message_);
  }

  void end() {
    if (ended_) return;
    ended_ = true;
    subscription_.cancel();
    soup_message_body_complete(soup_server_message_get_response_body(message_));
    soup_server_message_unpause(message_);
  }

  void on_change(const Job &job, bool deleted) {
    send(event_text(job, deleted));
    if (deleted || is_final(job)) end();
  }

  static gboolean on_keep_alive(gpointer data) {
    static_cast<EventStream *>(data)->send(": keep-alive\n\n");
    return G_SOURCE_CONTINUE;
  }

  static void on_finished(SoupServerMessage *, gpointer data) { delete static_cast<EventStream *>(data); }

  SoupServerMessage *message_;
  JobScheduler &scheduler_;
  SlotCounter::Slot slot_;
  std::string first_event_;
  bool ended_ = false;
  Subscription subscription_;
  RepeatingTimeout keep_alive_;
};

}  // namespace

void start_event_stream(SoupServerMessage *message, JobScheduler &scheduler, const Job &job, SlotCounter::Slot slot,
                        guint keep_alive_seconds) {
  new EventStream(message, scheduler, job, std::move(slot), keep_alive_seconds);
}

}  // namespace demucs
