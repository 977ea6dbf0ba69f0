// GET /events/{job_id}: a Server-Sent Events stream of one job. An event
// `status` (data: the /status object) is sent at once and on every change;
// the stream ends after completed or error. If the job is deleted, an event
// `deleted` (data: {"job_id": ...}) ends it. A comment every 15 s keeps
// proxies from closing an idle stream.
#pragma once

#include "job_scheduler.h"
#include "slot_counter.h"

#include <libsoup/soup.h>

namespace demucs {

constexpr guint kEventStreamKeepAliveSeconds = 15;

/// Answers `message` with the event stream of job `job` (which exists). The
/// stream object, and `slot` with it, lives until the response ends or the
/// client goes away. Throws (JobStoreError: the queue position of a pending
/// job comes from the store) before anything is registered: the caller
/// answers the message, and nothing of the stream is left behind.
/// `keep_alive_seconds` is the comment's period (shorter in tests).
void start_event_stream(SoupServerMessage *message, JobScheduler &scheduler, const Job &job, SlotCounter::Slot slot,
                        guint keep_alive_seconds = kEventStreamKeepAliveSeconds);

}  // namespace demucs
