#include "upload_probe.h"

#include "daemon_log.h"

#include <glib.h>

namespace demucs {

UploadProbe::UploadProbe(std::string program, WorkerLimits limits)
    : program_(std::move(program)), limits_(limits) {}

UploadProbe::~UploadProbe() = default;  // each WorkerProcess kills its worker

void UploadProbe::probe(const std::string &path, Callback done) {
  const int id = next_id_++;
  auto worker = std::make_unique<WorkerProcess>(std::vector<std::string>{program_, "worker", "probe", path}, limits_);
  auto result = std::make_shared<UploadProbeResult>();
  auto answered = std::make_shared<bool>(false);
  std::string error;
  const bool started = worker->start(
      [result, answered](JsonObject *event) {
        if (g_strcmp0(json_object_get_string_member_with_default(event, "event", ""), "probe") != 0) return;
        *answered = true;
        result->ok = json_object_get_boolean_member_with_default(event, "ok", FALSE);
        result->seconds = json_object_get_double_member_with_default(event, "seconds", -1.0);
        result->reason = json_object_get_string_member_with_default(event, "reason", "");
      },
      [this, id, result, answered, done](const WorkerOutcome &outcome) {
        if (!*answered) {
          result->ok = false;
          result->reason = outcome.kind == "crashed" ? "probing it crashed GStreamer (" + outcome.message + ")"
                                                     : outcome.message;
          daemon_log("probe %d: %s", id, outcome.message.c_str());
        }
        const UploadProbeResult answer = *result;
        const Callback callback = done;
        running_.erase(id);  // destroys the WorkerProcess: nothing of `this` after it
        callback(answer);
      },
      error);
  if (!started) {
    g_idle_add_full(
        G_PRIORITY_DEFAULT_IDLE,
        [](gpointer data) -> gboolean {
          auto *pending = static_cast<std::pair<Callback, std::string> *>(data);
          pending->first(UploadProbeResult{false, -1.0, pending->second});
          return G_SOURCE_REMOVE;
        },
        new std::pair<Callback, std::string>(std::move(done), error),
        [](gpointer data) { delete static_cast<std::pair<Callback, std::string> *>(data); });
    return;
  }
  running_.emplace(id, std::move(worker));
}

}  // namespace demucs
