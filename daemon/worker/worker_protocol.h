// How a worker process reports to the daemon: one JSON object per line on
// its standard output, the last one "done" or "error".
//
//   {"event":"probe","ok":true,"seconds":6.0}     (probe: the answer)
//   {"event":"probe","ok":false,"reason":"..."}
//   {"event":"started"}                           (separate: pipeline built)
//   {"event":"progress","percent":12.5,"seconds":3.1}
//   {"event":"done"}
//   {"event":"error","message":"...","kind":"disk_full|too_long|out_of_memory|failed"}
#pragma once

#include <json-glib/json-glib.h>

#include <string>

namespace demucs {

/// Writes `event` (consumed) as one line on standard output and flushes it.
void write_worker_event(JsonObject *event);

/// One event line parsed; nullptr when the line is not a JSON object with
/// an "event" member. The caller owns the result (json_object_unref).
JsonObject *parse_worker_event(const std::string &line);

}  // namespace demucs
