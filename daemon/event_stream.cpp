#include "event_stream.h"

#include "json_reply.h"

namespace demucs {

namespace {

constexpr guint kKeepAliveSeconds = 15;

class EventStream {
 public:
  EventStream(SoupServerMessage *message, JobScheduler &scheduler, const Job &job, SlotCounter::Slot slot)
      : message_(message), scheduler_(scheduler), slot_(std::move(slot)) {
    SoupMessageHeaders *headers = soup_server_message_get_response_headers(message);
    soup_message_headers_set_content_type(headers, "text/event-stream", nullptr);
    soup_message_headers_set_encoding(headers, SOUP_ENCODING_CHUNKED);
    soup_message_headers_replace(headers, "Cache-Control", "no-store");
    soup_message_headers_replace(headers, "X-Accel-Buffering", "no");
    soup_message_body_set_accumulate(soup_server_message_get_response_body(message), FALSE);
    soup_server_message_set_status(message, SOUP_STATUS_OK, nullptr);
    g_signal_connect(message, "finished", G_CALLBACK(on_finished), this);

    token_ = scheduler.subscribe(job.id, [this](const Job &changed, bool deleted) { on_change(changed, deleted); });
    keep_alive_ = g_timeout_add_seconds(kKeepAliveSeconds, on_keep_alive, this);
    on_change(job, false);
  }

  ~EventStream() {
    if (token_) scheduler_.unsubscribe(token_);
    if (keep_alive_) g_source_remove(keep_alive_);
  }

 private:
  void send(const std::string &text) {
    if (ended_) return;
    soup_message_body_append(soup_server_message_get_response_body(message_), SOUP_MEMORY_COPY, text.data(),
                             text.size());
    soup_server_message_unpause(message_);
  }

  void end() {
    if (ended_) return;
    ended_ = true;
    scheduler_.unsubscribe(token_);
    token_ = 0;
    soup_message_body_complete(soup_server_message_get_response_body(message_));
    soup_server_message_unpause(message_);
  }

  void on_change(const Job &job, bool deleted) {
    if (deleted) {
      send("event: deleted\ndata: {\"job_id\":\"" + job.id + "\"}\n\n");
      end();
      return;
    }
    std::optional<int> position;
    if (job.status == JobStatus::pending) position = scheduler_.queue_position(job.id);
    JsonNode *node = job_status_json(job, position);
    send("event: status\ndata: " + json_text(node) + "\n\n");
    json_node_unref(node);
    if (job.status == JobStatus::completed || job.status == JobStatus::error) end();
  }

  static gboolean on_keep_alive(gpointer data) {
    static_cast<EventStream *>(data)->send(": keep-alive\n\n");
    return G_SOURCE_CONTINUE;
  }

  static void on_finished(SoupServerMessage *, gpointer data) { delete static_cast<EventStream *>(data); }

  SoupServerMessage *message_;
  JobScheduler &scheduler_;
  SlotCounter::Slot slot_;
  int token_ = 0;
  guint keep_alive_ = 0;
  bool ended_ = false;
};

}  // namespace

void start_event_stream(SoupServerMessage *message, JobScheduler &scheduler, const Job &job, SlotCounter::Slot slot) {
  new EventStream(message, scheduler, job, std::move(slot));
}

}  // namespace demucs
