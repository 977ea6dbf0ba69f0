// The HTTP routes of demucs-vocalsd:
//
//   POST   /upload            multipart field `file` (+ `stem`, `format`) -> {"job_id", "status": "pending"}
//   GET    /status/{job_id}   the job's state (queue_position while pending)
//   GET    /download/{job_id} the result (409 until completed); a zip of the stems
//                             for a multi-stem job (stem=all or a comma list)
//   GET    /download/{job_id}/{stem}  one stem of the result
//   GET    /events/{job_id}   Server-Sent Events of the job's state
//   GET    /jobs              recent jobs, newest first
//   DELETE /jobs/{job_id}     cancels and removes a job and its files
//   GET    /health            service and model state
//   GET    / and /<file>      the browser UI (web/)
//
// Every error is {"error": "..."} with 400, 401, 403, 404, 405, 408, 409, 413,
// 415, 421, 503 or 507 (disk full). Uploads are probed in a worker process. Every request first passes the RequestGate (host, origin,
// token, body size); with a token, /upload and /status also give the job's
// "key", which opens /download and /events of that job alone (?key=...).
#pragma once

#include "access_policy.h"
#include "disk_space.h"
#include "job_scheduler.h"
#include "model_provisioner.h"
#include "request_gate.h"
#include "slot_counter.h"
#include "static_files.h"
#include "upload_probe.h"

#include <libsoup/soup.h>

#include <cstdint>
#include <string>

namespace demucs {

struct RestApiSettings {
  std::int64_t max_upload_bytes = 100 * 1024 * 1024;
  int max_queue = 100;
  int max_uploads = 8;         ///< uploads received at once
  int max_event_streams = 64;  ///< open /events streams
  double max_audio_seconds = 30 * 60;  ///< longer uploads get 413
  std::string worker_program;  ///< the demucs-vocalsd executable, for probes
  WorkerLimits probe_limits;
  std::string version;
  std::string role = "all";   ///< all, api or worker (which takes no uploads)
  std::string node;           ///< this daemon's name, for /health
};

class RestApi {
 public:
  RestApi(SoupServer *server, JobScheduler &scheduler, const ModelProvisioner &model, const StaticFiles &web,
          const AccessPolicy &access, DiskSpace &disk, RestApiSettings settings);
  ~RestApi();
  RestApi(const RestApi &) = delete;
  RestApi &operator=(const RestApi &) = delete;

 private:
  static void on_early(SoupServer *, SoupServerMessage *message, const char *path, GHashTable *,
                       gpointer self);
  static void on_request(SoupServer *, SoupServerMessage *message, const char *path, GHashTable *,
                         gpointer self);
  static void on_request_finished(SoupServer *, SoupServerMessage *message, gpointer self);

  void begin_upload(SoupServerMessage *message);
  void finish_upload(SoupServerMessage *message);
  void probe_upload(SoupServerMessage *message, const Job &job);
  void reply_health(SoupServerMessage *message);
  void reply_status(SoupServerMessage *message, const Job &job);
  void reply_jobs(SoupServerMessage *message);
  void reply_events(SoupServerMessage *message, const Job &job);
  void add_job_key(JsonNode *reply, const std::string &job_id) const;
  void reply_download(SoupServerMessage *message, const Job &job, const std::string &stem = "");
  void reply_delete(SoupServerMessage *message, const std::string &id);
  bool valid_stem(const std::string &stem, std::string &why) const;
  std::string requested_stem_text(const std::string &field, std::string &why) const;

  SoupServer *server_;
  JobScheduler &scheduler_;
  const ModelProvisioner &model_;
  const StaticFiles &web_;
  const AccessPolicy &access_;
  RequestGate gate_;
  DiskSpace &disk_;
  RestApiSettings settings_;
  UploadProbe probe_;
  SlotCounter uploads_;
  SlotCounter event_streams_;
};

}  // namespace demucs
