#include "rest_api.h"

#include "access_log.h"
#include "callback_guard.h"
#include "event_stream.h"
#include "job_id.h"
#include "job_stems.h"
#include "json_reply.h"
#include "path_redaction.h"
#include "reply_and_close.h"
#include "security_headers.h"
#include "separation_pipeline.h"
#include "stem_download.h"
#include "upload_name.h"
#include "upload_receiver.h"

#include "output_format.h"
#include "registry/model_registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

namespace demucs {

namespace {

constexpr const char *kDatabaseUnavailable =
    "The job database cannot be reached just now; try again in a few seconds.";

constexpr const char *kReceiverKey = "demucs-upload-receiver";
// Room for the multipart framing and the small fields around the file.
constexpr std::int64_t kMultipartOverheadBytes = 64 * 1024;
constexpr int kRecentJobs = 100;

UploadReceiver *receiver_of(SoupServerMessage *message) {
  return static_cast<UploadReceiver *>(g_object_get_data(G_OBJECT(message), kReceiverKey));
}

// "/status/abc" with prefix "/status/" -> "abc"; "" when the path is not below it.
std::string id_after(const std::string &path, const char *prefix) {
  const std::string start(prefix);
  if (path.compare(0, start.size(), start) != 0) return "";
  std::string id = path.substr(start.size());
  if (id.find('/') != std::string::npos) return "";
  return id;
}

void reply_no_job(SoupServerMessage *message, const std::string &id) {
  reply_error(message, SOUP_STATUS_NOT_FOUND,
              "There is no job \"" + id + "\" (it may have expired or been deleted).");
}

void reply_method_not_allowed(SoupServerMessage *message, const char *allowed) {
  reply_error(message, SOUP_STATUS_METHOD_NOT_ALLOWED,
              std::string("Method ") + soup_server_message_get_method(message) + " is not allowed here; use " +
                  allowed + ".");
  soup_message_headers_replace(soup_server_message_get_response_headers(message), "Allow", allowed);
}

bool is_method(SoupServerMessage *message, const char *method) {
  return g_strcmp0(soup_server_message_get_method(message), method) == 0;
}

}  // namespace

RestApi::RestApi(SoupServer *server, JobScheduler &scheduler, const ModelProvisioner &model,
                 const StaticFiles &web, const AccessPolicy &access, DiskSpace &disk, RestApiSettings settings)
    : server_(server),
      scheduler_(scheduler),
      model_(model),
      web_(web),
      access_(access),
      gate_(access),
      disk_(disk),
      settings_(std::move(settings)),
      probe_(settings_.worker_program, settings_.probe_limits) {
  // libsoup pairs early and normal handlers by path: every path has both.
  soup_server_add_early_handler(server_, "/upload", on_early, this, nullptr);
  soup_server_add_handler(server_, "/upload", on_request, this, nullptr);
  soup_server_add_early_handler(server_, nullptr, on_early, this, nullptr);
  soup_server_add_handler(server_, nullptr, on_request, this, nullptr);
  g_signal_connect(server_, "request-finished", G_CALLBACK(on_request_finished), this);
}

RestApi::~RestApi() {
  g_signal_handlers_disconnect_by_data(server_, this);
  soup_server_remove_handler(server_, "/upload");
  soup_server_remove_handler(server_, "/");
}

void RestApi::on_request_finished(SoupServer *, SoupServerMessage *message, gpointer) {
  guarded("the access log", [&] { log_request(message); });
}

// --- POST /upload ------------------------------------------------------------

void RestApi::on_early(SoupServer *, SoupServerMessage *message, const char *path, GHashTable *, gpointer data) {
  auto *self = static_cast<RestApi *>(data);
  guarded("a request's headers", [&] {
    mark_request_start(message);
    if (!self->gate_.admit(message, path)) return;
    if (g_strcmp0(path, "/upload") != 0) return;  // below /upload: the normal handler says 404
    if (!is_method(message, "POST")) {
      soup_message_headers_replace(soup_server_message_get_response_headers(message), "Allow", "POST");
      refuse(message, SOUP_STATUS_METHOD_NOT_ALLOWED,
             std::string("Method ") + soup_server_message_get_method(message) + " is not allowed here; use POST.");
      return;
    }
    self->begin_upload(message);
  });
}

void RestApi::begin_upload(SoupServerMessage *message) {
  SoupMessageHeaders *headers = soup_server_message_get_request_headers(message);
  const std::string boundary =
      MultipartStreamParser::boundary_of(soup_message_headers_get_one(headers, "Content-Type"));
  SoupMessageHeaders *response = soup_server_message_get_response_headers(message);
  // Each refusal below answers at once and closes the connection: the body
  // is never read.
  if (boundary.empty()) {
    refuse(message, SOUP_STATUS_BAD_REQUEST,
           "POST /upload expects a multipart/form-data body with the audio file in a field named \"file\".");
    return;
  }
  if (soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length(headers) > settings_.max_upload_bytes + kMultipartOverheadBytes) {
    refuse(message, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
           "The file is too large: the limit is " + std::to_string(settings_.max_upload_bytes / (1024 * 1024)) +
               " MB.");
    return;
  }
  if (settings_.role == "worker") {
    refuse(message, SOUP_STATUS_SERVICE_UNAVAILABLE,
           "This server only runs jobs (--role worker): upload to one that takes uploads.");
    return;
  }
  int pending = 0;
  try {
    pending = scheduler_.pending_count();
  } catch (const JobStoreError &error) {
    daemon_log("upload refused: %s", error.what());
    soup_message_headers_replace(response, "Retry-After", "5");
    refuse(message, SOUP_STATUS_SERVICE_UNAVAILABLE, kDatabaseUnavailable);
    return;
  }
  if (pending >= settings_.max_queue) {
    soup_message_headers_replace(response, "Retry-After", "60");
    refuse(message, SOUP_STATUS_SERVICE_UNAVAILABLE,
           "The queue is full (" + std::to_string(settings_.max_queue) + " jobs waiting). Try again in a few minutes.");
    return;
  }
  SlotCounter::Slot slot = uploads_.take(settings_.max_uploads);
  if (!slot) {
    soup_message_headers_replace(response, "Retry-After", "5");
    refuse(message, SOUP_STATUS_SERVICE_UNAVAILABLE,
           "The server is receiving " + std::to_string(settings_.max_uploads) +
               " uploads already. Try again in a few seconds.");
    return;
  }

  // Room on the disk for what this upload may bring (all of it when the
  // length is not announced), kept for it while it arrives.
  const std::int64_t announced = soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CONTENT_LENGTH
                                     ? soup_message_headers_get_content_length(headers)
                                     : settings_.max_upload_bytes;
  DiskSpace::Reservation room = disk_.reserve(announced);
  if (!room) {
    soup_message_headers_replace(response, "Retry-After", "300");
    refuse(message, SOUP_STATUS_INSUFFICIENT_STORAGE, disk_full_text(disk_.min_free_bytes()));
    return;
  }

  const std::string job_id = new_job_id();
  auto *receiver = new UploadReceiver(message, boundary, job_id, scheduler_.job_folder(job_id),
                                      settings_.max_upload_bytes, {std::move(slot), std::move(room)});
  g_object_set_data_full(G_OBJECT(message), kReceiverKey, receiver,
                         [](gpointer data) { delete static_cast<UploadReceiver *>(data); });
  // Stream the body to the receiver instead of collecting it in memory.
  soup_message_body_set_accumulate(soup_server_message_get_request_body(message), FALSE);
  g_signal_connect(message, "got-chunk", G_CALLBACK(+[](SoupServerMessage *msg, GBytes *chunk, gpointer) {
                     gsize size = 0;
                     const char *data = static_cast<const char *>(g_bytes_get_data(chunk, &size));
                     guarded("an upload's bytes", [&] {
                       if (UploadReceiver *upload = receiver_of(msg)) upload->receive(data, size);
                     });
                   }),
                   nullptr);
}

bool RestApi::valid_stem(const std::string &stem, std::string &why) const {
  if (stem == "vocals" || stem == "instrumental") return true;
  if (const KnownModel *known = find_known_model(model_.model())) {
    for (const std::string &source : known->sources)
      if (stem == source) return true;
    std::string valid = "vocals, instrumental";
    for (const std::string &source : known->sources)
      if (source != "vocals") valid += ", " + source;
    why = "Unknown stem \"" + stem + "\" for model " + known->name + "; choose one of: " + valid + ".";
    return false;
  }
  // A checkpoint given by path: its sources are known once the element loads
  // it, which reports an unknown stem as the job's error. Refuse only what
  // cannot be a source name.
  for (char c : stem)
    if (!g_ascii_isalnum(c) && c != '_' && c != '-') {
      why = "Unknown stem \"" + stem + "\".";
      return false;
    }
  return !stem.empty();
}

// The upload's `stem` field as Job::stem: one stem, or several ("a,b", or
// "all": every stem of a known model) joined with commas. "" with `why` when
// a stem is not valid.
std::string RestApi::requested_stem_text(const std::string &field, std::string &why) const {
  std::vector<std::string> stems = parse_stem_list(field.empty() ? "vocals" : field);
  if (stems.empty()) stems = {"vocals"};
  if (stems == std::vector<std::string>{"all"}) {
    const KnownModel *known = find_known_model(model_.model());
    if (known == nullptr) return "all";  // a checkpoint by path: its stems are known once it runs
    stems = known->sources;  // then the instrumental, as the element's pads come
    if (std::find(stems.begin(), stems.end(), "vocals") != stems.end()) stems.push_back("instrumental");
  }
  std::string text;
  for (const std::string &stem : stems) {
    if (!valid_stem(stem, why)) return "";
    text += (text.empty() ? "" : ",") + stem;
  }
  return text;
}

void RestApi::finish_upload(SoupServerMessage *message) {
  UploadReceiver *receiver = receiver_of(message);
  if (receiver == nullptr) {
    reply_error(message, SOUP_STATUS_BAD_REQUEST, "The upload could not be read.");
    return;
  }
  if (!receiver->finish()) return;

  const std::string format = receiver->field("format").value_or("wav");
  std::string why;
  const std::string stem = requested_stem_text(receiver->field("stem").value_or("vocals"), why);
  if (stem.empty()) {
    receiver->reject(SOUP_STATUS_BAD_REQUEST, why);
    return;
  }
  const std::optional<OutputFormat> output_format = output_format_from_name(format.empty() ? "wav" : format);
  if (!output_format) {
    receiver->reject(SOUP_STATUS_BAD_REQUEST, "Unknown format \"" + format + "\"; choose one of: " +
                                                  output_format_names() + ".");
    return;
  }

  Job job;
  job.id = receiver->job_id();
  job.filename = sanitize_upload_name(receiver->client_file_name());
  job.stem = stem;
  job.format = output_format_name(*output_format);
  job.created_at = g_get_real_time();
  job.output_path = scheduler_.job_folder(job.id) + "/output." + job.format;

  // On disk (fsync, in a thread), then probed: the message waits, paused.
  soup_server_message_pause(message);
  g_object_ref(message);
  receiver->store([this, message, job](bool stored) mutable {
    if (stored) {  // otherwise rejected: the answer is set
      job.input_path = receiver_of(message)->stored_path();
      bool probing = false;
      guarded("an upload's probe", [&] {
        probe_upload(message, job);
        probing = true;
      });
      if (probing) return;
      receiver_of(message)->reject(SOUP_STATUS_INTERNAL_SERVER_ERROR, "The upload could not be checked.");
    }
    soup_server_message_unpause(message);
    g_object_unref(message);
  });
}

// Decodable audio, and not too long? A worker process asks GStreamer,
// without blocking the main loop. `message` is paused and referenced: this
// unpauses and releases it.
void RestApi::probe_upload(SoupServerMessage *message, const Job &job) {
  probe_.probe(job.input_path, [this, message, job](const UploadProbeResult &probed) {
    guarded("an upload's probe", [&] {
      UploadReceiver *upload = receiver_of(message);
      const double limit = settings_.max_audio_seconds;
      if (!probed.ok) {
        const std::string &reason = probed.reason;
        const bool has_stop = !reason.empty() && reason.back() == '.';
        upload->reject(SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
                       "\"" + job.filename + "\" is not audio that can be decoded: " + reason + (has_stop ? "" : "."));
      } else if (limit > 0 && probed.seconds > limit) {
        char text[96];
        std::snprintf(text, sizeof text, "%.1f minutes long; this server takes at most %g minutes",
                      probed.seconds / 60.0, limit / 60.0);
        upload->reject(SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "\"" + job.filename + "\" is " + text + ".");
      } else {
        try {
          Job accepted = job;
          scheduler_.submit(accepted);
          upload->keep();
          JsonObject *reply = json_object_new();
          json_object_set_string_member(reply, "job_id", accepted.id.c_str());
          json_object_set_string_member(reply, "status", "pending");
          JsonNode *node = json_object_node(reply);
          add_job_key(node, accepted.id);
          reply_json(message, SOUP_STATUS_OK, node);
        } catch (const JobStoreError &error) {
          daemon_log("upload of job %s refused: %s", job.id.c_str(), error.what());
          upload->reject(SOUP_STATUS_SERVICE_UNAVAILABLE, kDatabaseUnavailable);
        } catch (const std::exception &error) {
          upload->reject(SOUP_STATUS_INTERNAL_SERVER_ERROR,
                         std::string("The job could not be stored: ") + error.what());
        }
      }
    });
    soup_server_message_unpause(message);
    g_object_unref(message);
  });
}

// --- Everything else -----------------------------------------------------------

void RestApi::on_request(SoupServer *, SoupServerMessage *message, const char *path_text, GHashTable *,
                         gpointer data) {
  auto *self = static_cast<RestApi *>(data);
  mark_request_start(message);
  const std::string path = path_text;
  const bool get = is_method(message, "GET") || is_method(message, "HEAD");

  try {
    if (path == "/upload") {
      self->finish_upload(message);
      return;
    }
    if (path == "/health") {
      if (!get) return reply_method_not_allowed(message, "GET");
      return self->reply_health(message);
    }
    if (path == "/jobs") {
      if (!get) return reply_method_not_allowed(message, "GET");
      return self->reply_jobs(message);
    }
    if (const auto [id, stem] = stem_download_route(path); !id.empty()) {
      if (!get) return reply_method_not_allowed(message, "GET");
      const std::optional<Job> job = self->scheduler_.find(id);
      if (!job) return reply_no_job(message, id);
      return self->reply_download(message, *job, stem);
    }
    struct Route {
      const char *prefix;
      const char *methods;
    };
    for (const Route route : {Route{"/status/", "GET"}, Route{"/download/", "GET"}, Route{"/events/", "GET"},
                              Route{"/jobs/", "GET, DELETE"}}) {
      const std::string id = id_after(path, route.prefix);
      if (id.empty()) continue;
      const bool is_jobs = std::string(route.prefix) == "/jobs/";
      if (is_jobs && is_method(message, "DELETE")) return self->reply_delete(message, id);
      if (!get) return reply_method_not_allowed(message, route.methods);
      const std::optional<Job> job = self->scheduler_.find(id);
      if (!job) return reply_no_job(message, id);
      if (route.prefix == std::string("/download/")) return self->reply_download(message, *job);
      if (route.prefix == std::string("/events/")) return self->reply_events(message, *job);
      return self->reply_status(message, *job);
    }
    if (get && self->web_.serve(message, path)) return;
    reply_error(message, SOUP_STATUS_NOT_FOUND, "There is no page " + path + " here.");
  } catch (const JobStoreError &error) {
    // The database is unreachable (another node may hold the job): say so,
    // and when to ask again; the log keeps why.
    daemon_log("%s %s: %s", escape_for_log(soup_server_message_get_method(message)).c_str(),
               escape_for_log(path).c_str(), error.what());
    soup_message_headers_replace(soup_server_message_get_response_headers(message), "Retry-After", "5");
    reply_error(message, SOUP_STATUS_SERVICE_UNAVAILABLE, kDatabaseUnavailable);
  } catch (const std::exception &error) {
    reply_error(message, SOUP_STATUS_INTERNAL_SERVER_ERROR, std::string("Internal error: ") + error.what());
  }
}

void RestApi::add_job_key(JsonNode *reply, const std::string &job_id) const {
  if (access_.token_required())
    json_object_set_string_member(json_node_get_object(reply), "key", access_.job_key(job_id).c_str());
}

void RestApi::reply_status(SoupServerMessage *message, const Job &job) {
  std::optional<int> position;
  if (job.status == JobStatus::pending) position = scheduler_.queue_position(job.id);
  JsonNode *node = job_status_json(job, position);
  add_job_key(node, job.id);
  if (job.status == JobStatus::completed) {  // the stems produced, each at /download/{id}/{stem}
    JsonArray *stems = json_array_new();
    for (const std::string &stem : produced_stems(job)) json_array_add_string_element(stems, stem.c_str());
    json_object_set_array_member(json_node_get_object(node), "stems", stems);
  }
  reply_json(message, SOUP_STATUS_OK, node);
}

void RestApi::reply_events(SoupServerMessage *message, const Job &job) {
  SlotCounter::Slot slot = event_streams_.take(settings_.max_event_streams);
  if (!slot) {
    soup_message_headers_replace(soup_server_message_get_response_headers(message), "Retry-After", "10");
    reply_error(message, SOUP_STATUS_SERVICE_UNAVAILABLE,
                "Too many event streams are open on this server; poll /status/" + job.id + " instead.");
    return;
  }
  start_event_stream(message, scheduler_, job, std::move(slot));
}

void RestApi::reply_jobs(SoupServerMessage *message) {
  if (!access_.may_list_jobs(gate_.has_token(message))) {
    reply_error(message, SOUP_STATUS_FORBIDDEN,
                "The job list is open only with an access token (start the server with --api-token-file FILE).");
    return;
  }
  JsonArray *jobs = json_array_new();
  for (const Job &job : scheduler_.recent(kRecentJobs)) {
    std::optional<int> position;
    if (job.status == JobStatus::pending) position = scheduler_.queue_position(job.id);
    json_array_add_element(jobs, job_status_json(job, position));
  }
  JsonObject *root = json_object_new();
  json_object_set_array_member(root, "jobs", jobs);
  reply_json(message, SOUP_STATUS_OK, json_object_node(root));
}

void RestApi::reply_download(SoupServerMessage *message, const Job &job, const std::string &stem) {
  if (job.status == JobStatus::error) {
    reply_error(message, SOUP_STATUS_CONFLICT, "The job failed, there is nothing to download: " + job.error_message);
    return;
  }
  if (job.status != JobStatus::completed) {
    reply_error(message, SOUP_STATUS_CONFLICT,
                "The job is not finished yet (" + std::string(job_status_name(job.status)) + ", " +
                    std::to_string(static_cast<int>(job.progress)) + "%). Download it once it is completed.");
    return;
  }
  if (!stem.empty()) return reply_stem_file(message, job, stem);
  if (job_has_several_stems(job)) return reply_stem_archive(message, job);
  reply_result_file(message, job.output_path, job.format, download_file_name(job));
}

void RestApi::reply_delete(SoupServerMessage *message, const std::string &id) {
  if (!scheduler_.remove(id)) return reply_no_job(message, id);
  JsonObject *reply = json_object_new();
  json_object_set_string_member(reply, "job_id", id.c_str());
  json_object_set_boolean_member(reply, "deleted", TRUE);
  reply_json(message, SOUP_STATUS_OK, json_object_node(reply));
}

void RestApi::reply_health(SoupServerMessage *message) {
  const ModelProvisioner::State state = model_.state();
  const JobStore &store = scheduler_.store();
  const bool runs_jobs = settings_.role != "api";
  const bool unavailable = (runs_jobs && state.phase == ModelProvisioner::Phase::unavailable) || !store.connected();
  JsonObject *health = json_object_new();
  json_object_set_string_member(health, "status", unavailable ? "degraded" : "ok");
  json_object_set_string_member(health, "version", settings_.version.c_str());
  // The page asks for a token only when the server needs one.
  json_object_set_boolean_member(health, "auth_required", access_.token_required());
  json_object_set_string_member(health, "model", model_.model().c_str());
  json_object_set_string_member(health, "device", model_.device().c_str());
  json_object_set_boolean_member(health, "model_loaded", state.phase == ModelProvisioner::Phase::ready);
  // An api node never loads the model: its workers do.
  json_object_set_string_member(health, "model_state",
                                runs_jobs ? ModelProvisioner::phase_name(state.phase) : "not used (api node)");
  if (state.phase == ModelProvisioner::Phase::downloading)
    json_object_set_double_member(health, "model_download_percent", std::round(state.download_percent * 10.0) / 10.0);
  if (state.error_message.empty())
    json_object_set_null_member(health, "model_error");
  else
    json_object_set_string_member(health, "model_error", redact_server_paths(state.error_message).c_str());
  json_object_set_string_member(health, "role", settings_.role.c_str());
  json_object_set_string_member(health, "node", settings_.node.c_str());
  JsonObject *database = json_object_new();
  json_object_set_string_member(database, "kind", store.kind());
  json_object_set_boolean_member(database, "connected", store.connected());
  if (store.connected())
    json_object_set_null_member(database, "error");
  else
    json_object_set_string_member(database, "error", redact_server_paths(store.last_error()).c_str());
  json_object_set_object_member(health, "database", database);
  // This node's running jobs; the waiting ones of every node.
  json_object_set_int_member(health, "jobs_processing", scheduler_.running_count());
  try {
    json_object_set_int_member(health, "jobs_pending", scheduler_.pending_count());
  } catch (const JobStoreError &) {
    json_object_set_null_member(health, "jobs_pending");
  }
  json_object_set_int_member(health, "max_jobs", scheduler_.settings().max_jobs);
  reply_json(message, SOUP_STATUS_OK, json_object_node(health));
}

}  // namespace demucs
