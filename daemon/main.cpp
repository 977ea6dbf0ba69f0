// demucs-vocalsd: the REST service. Uploads become jobs, each job a
// separation pipeline (pipeline/), the browser UI in web/ is served at /.
#include "access_policy.h"
#include "callback_guard.h"
#include "daemon_log.h"
#include "daemon_options.h"
#include "data_dir_lock.h"
#include "descriptor_limit.h"
#include "disk_space.h"
#include "http_listener.h"
#include "job_scheduler.h"
#include "job_store.h"
#include "model_provisioner.h"
#include "rest_api.h"
#include "static_files.h"
#include "systemd_notify.h"
#include "worker/worker_main.h"
#include "worker_process.h"

#include "demucs_plugin_location.h"

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include <algorithm>
#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

namespace demucs {
namespace {

// The address to listen on: an IP address, or "localhost".
GSocketAddress *listen_address(const DaemonOptions &options) {
  GInetAddress *address = options.host == "localhost"
                              ? g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4)
                              : g_inet_address_new_from_string(options.host.c_str());
  if (address == nullptr) return nullptr;
  GSocketAddress *socket_address = g_inet_socket_address_new(address, static_cast<guint16>(options.port));
  g_object_unref(address);
  return socket_address;
}

// The URL clients use: the listening address and the port actually bound.
std::string served_url(const HttpListener &listener, const DaemonOptions &options) {
  std::string host = options.host;
  if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(listener.is_https() ? "https" : "http") + "://" + host + ":" + std::to_string(listener.port()) +
         "/";
}

// The certificate for HTTPS, or nullptr (with a message) when it cannot be read.
GTlsCertificate *load_certificate(const DaemonOptions &options) {
  GError *error = nullptr;
  GTlsCertificate *certificate =
      g_tls_certificate_new_from_files(options.tls_cert.c_str(), options.tls_key.c_str(), &error);
  if (certificate == nullptr) {
    std::fprintf(stderr, "demucs-vocalsd: cannot use the TLS certificate %s with the key %s: %s\n",
                 options.tls_cert.c_str(), options.tls_key.c_str(), error->message);
    g_error_free(error);
  }
  return certificate;
}

// SIGTERM or SIGINT: stop accepting at once, let running jobs finish for up
// to --shutdown-grace seconds, then stop. A second signal stops at once.
struct Shutdown {
  GMainLoop *loop = nullptr;
  std::unique_ptr<HttpListener> *listener = nullptr;
  JobScheduler *scheduler = nullptr;
  int grace_seconds = 30;
  gint64 deadline = 0;
  guint poll_source = 0;

  static gboolean on_signal(gpointer data) {
    auto *self = static_cast<Shutdown *>(data);
    if (self->deadline != 0) {
      daemon_log("stopping now (second signal)");
      g_main_loop_quit(self->loop);
      return G_SOURCE_CONTINUE;
    }
    notify_systemd("STOPPING=1");
    self->deadline = g_get_monotonic_time() + static_cast<gint64>(self->grace_seconds) * G_USEC_PER_SEC;
    self->listener->reset();  // no new connections
    self->scheduler->stop_starting();
    daemon_log("stopping (signal received): no new requests; %d running job(s) get up to %d s to finish",
               self->scheduler->running_count(), self->grace_seconds);
    self->poll_source = g_timeout_add(100, on_poll, self);
    on_poll(self);
    return G_SOURCE_CONTINUE;
  }

  static gboolean on_poll(gpointer data) {
    auto *self = static_cast<Shutdown *>(data);
    if (self->scheduler->running_count() > 0 && g_get_monotonic_time() < self->deadline) return G_SOURCE_CONTINUE;
    self->poll_source = 0;
    g_main_loop_quit(self->loop);
    return G_SOURCE_REMOVE;
  }
};

// The worker limits for jobs (`probe` false) and for upload probes.
WorkerLimits worker_limits(const DaemonOptions &options, bool probe) {
  constexpr std::int64_t kMiB = 1024 * 1024;
  WorkerLimits limits;
  limits.memory_bytes = static_cast<std::int64_t>(options.worker_memory_mb) * kMiB;
  if (probe) {
    limits.cpu_seconds = 120;
    limits.file_bytes = 64 * kMiB;  // it writes nothing of its own; GStreamer's registry may be written
    limits.stall_seconds = 60;
    limits.wall_seconds = 60;
    return limits;
  }
  const std::int64_t cores = std::max(1u, g_get_num_processors());
  limits.cpu_seconds = static_cast<std::int64_t>(options.job_timeout) * cores + 60;
  // file_bytes: per job, from its stems and format (job_file_limit.h).
  limits.stall_seconds = options.stall_timeout;
  limits.wall_seconds = options.job_timeout;
  return limits;
}

// Exit status for a problem that a restart cannot fix (a damaged database,
// a data folder in use): the unit file tells systemd not to restart on it.
constexpr int kExitDoNotRestart = 78;

int run(int argc, char **argv) {
  int exit_status = 0;
  std::optional<DaemonOptions> parsed = parse_daemon_options(argc, argv, exit_status);
  if (!parsed) return exit_status;
  const DaemonOptions options = *parsed;
  if (options.show_version) {
    std::printf("demucs-vocalsd %s\n", DEMUCS_VOCALS_VERSION);
    return 0;
  }

  GSocketAddress *address = listen_address(options);
  if (address == nullptr) {
    std::fprintf(stderr, "demucs-vocalsd: --host %s is not an IP address (or localhost)\n", options.host.c_str());
    return 2;
  }
  std::string why;
  if (!AccessPolicy::may_listen(options.host, !options.api_token.empty(), options.allow_unauthenticated, why)) {
    std::fprintf(stderr, "demucs-vocalsd: %s\n", why.c_str());
    g_object_unref(address);
    return 2;
  }
  GTlsCertificate *certificate = nullptr;
  if (!options.tls_cert.empty() && (certificate = load_certificate(options)) == nullptr) {
    g_object_unref(address);
    return 2;
  }
  const long descriptors = raise_descriptor_limit();
  int max_connections =
      std::min(options.max_connections, connections_under_limit(descriptors, options.max_uploads, options.max_jobs));
  // A test switch, not an option: lets tests run the daemon out of
  // descriptors for real, to check that accepting survives it.
  if (g_getenv("DEMUCS_VOCALSD_TEST_UNCAPPED_CONNECTIONS")) max_connections = options.max_connections;
  if (max_connections < options.max_connections)
    daemon_log("warning: --max-connections %d does not fit in %ld file descriptors: at most %d connections",
               options.max_connections, descriptors, max_connections);
  if (g_mkdir_with_parents(options.data_dir.c_str(), 0700) != 0) {
    std::fprintf(stderr, "demucs-vocalsd: cannot create the data folder %s: %s\n", options.data_dir.c_str(),
                 std::strerror(errno));
    g_object_unref(address);
    return 1;
  }
  // One daemon owns an SQLite store and its data folder; with PostgreSQL,
  // several share both.
  const bool shared_store = is_postgresql_url(options.database);
  std::optional<DataDirLock> lock;
  if (!shared_store) {
    lock.emplace(options.data_dir);
    if (!lock->ok()) {
      std::fprintf(stderr, "demucs-vocalsd: %s\n", lock->error().c_str());
      g_object_unref(address);
      return kExitDoNotRestart;
    }
  }
  initialize_gstreamer_with_demucs_plugin();

  std::unique_ptr<JobStore> store;
  try {
    store = open_job_store(options.database, options.data_dir, options.node_name);
  } catch (const JobStoreError &error) {
    std::fprintf(stderr, "demucs-vocalsd: %s\n%s\n", error.what(),
                 shared_store ? "Check the URL, the user's rights and that the database exists, then start again."
                              : "Move the damaged database aside (its jobs are lost) or free some disk space, "
                                "then start again.");
    g_object_unref(address);
    return kExitDoNotRestart;
  }

  GMainLoop *loop = g_main_loop_new(nullptr, FALSE);
  DiskSpace disk(options.data_dir, static_cast<std::int64_t>(options.min_free_mb) * 1024 * 1024);
  const std::string program = current_program_path();
  SchedulerSettings scheduler_settings;
  scheduler_settings.data_dir = options.data_dir;
  scheduler_settings.model = options.model;
  scheduler_settings.config = options.config;
  scheduler_settings.device = options.device;
  scheduler_settings.precision = options.precision;
  scheduler_settings.max_jobs = options.max_jobs;
  scheduler_settings.worker_program = program;
  scheduler_settings.worker_limits = worker_limits(options, false);
  scheduler_settings.max_audio_seconds = options.max_duration_minutes * 60.0;
  scheduler_settings.test_faults = g_getenv("DEMUCS_VOCALSD_TEST_WORKER_FAULT") != nullptr;
  scheduler_settings.node = options.node_name;
  scheduler_settings.runs_jobs = options.role != "api";
  scheduler_settings.lease_seconds = options.job_lease;
  scheduler_settings.max_attempts = options.max_attempts;
  auto scheduler = std::make_unique<JobScheduler>(*store, disk, scheduler_settings);
  // A full disk or a store that cannot be written must not keep the daemon
  // from serving what it can: recovery is tried again every few seconds.
  bool recovered = false;
  guarded("start-up recovery", [&] { recovered = scheduler->recover(); });
  guint recovery_source = 0;
  if (!recovered)
    recovery_source = g_timeout_add_seconds(5, [](gpointer data) -> gboolean {
      bool done = false;
      guarded("start-up recovery", [&] { done = static_cast<JobScheduler *>(data)->recover(); });
      return done ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
    }, scheduler.get());

  auto model = std::make_unique<ModelProvisioner>(
      options.model, options.device, options.precision, g_main_context_default(),
      [&scheduler](const ModelProvisioner::State &state) {
        guarded("the model's state", [&] {
          scheduler->set_model_state(state.phase == ModelProvisioner::Phase::ready,
                                     state.phase == ModelProvisioner::Phase::unavailable ? state.error_message : "");
        });
      });

  model->set_config(options.config);
  scheduler->on_model_wanted([&model] { model->retry(); });

  StaticFiles web(options.web_dir);
  if (!g_file_test((options.web_dir + "/index.html").c_str(), G_FILE_TEST_IS_REGULAR))
    daemon_log("warning: no index.html in %s: the browser UI will be missing (see --web-dir)",
               options.web_dir.c_str());

  SoupServer *server = soup_server_new("server-header", "demucs-vocalsd/" DEMUCS_VOCALS_VERSION " ", nullptr);
  const AccessPolicy access(AccessSettings{options.api_token, options.allowed_hosts, options.cors_origins,
                                           AccessPolicy::is_loopback_host(options.host)});
  RestApiSettings api_settings;
  api_settings.max_upload_bytes = static_cast<std::int64_t>(options.max_upload_mb) * 1024 * 1024;
  api_settings.max_queue = options.max_queue;
  api_settings.max_uploads = options.max_uploads;
  api_settings.max_event_streams = std::min(options.max_event_streams, max_connections);
  api_settings.max_audio_seconds = options.max_duration_minutes * 60.0;
  api_settings.worker_program = program;
  api_settings.probe_limits = worker_limits(options, true);
  api_settings.version = DEMUCS_VOCALS_VERSION;
  api_settings.role = options.role;
  api_settings.node = options.node_name;
  auto api = std::make_unique<RestApi>(server, *scheduler, *model, web, access, disk, api_settings);

  auto listener = std::make_unique<HttpListener>(
      server, ListenerSettings{options.idle_timeout, max_connections, certificate,
                               {options.header_timeout, options.request_timeout, options.min_upload_rate * 1024LL}});
  g_clear_object(&certificate);
  GError *error = nullptr;
  if (!listener->listen(address, &error)) {
    std::fprintf(stderr, "demucs-vocalsd: cannot listen on %s port %d: %s\n", options.host.c_str(), options.port,
                 error->message);
    g_error_free(error);
    g_object_unref(address);
    return 1;
  }
  g_object_unref(address);

  daemon_log("demucs-vocalsd %s: model %s on %s, data in %s, up to %d job(s) at once, uploads up to %d MB",
             DEMUCS_VOCALS_VERSION, options.model.c_str(), options.device.c_str(), options.data_dir.c_str(),
             options.max_jobs, options.max_upload_mb);
  daemon_log("node %s, role %s: jobs in %s", options.node_name.c_str(), options.role.c_str(),
             store->description().c_str());
  daemon_log("access: %s; %s; at most %d connections (idle timeout %d s), %d uploads, %d event streams",
             access.token_required() ? "API token required" : "no API token",
             listener->is_https() ? "HTTPS" : "plain HTTP", max_connections, options.idle_timeout,
             options.max_uploads, api_settings.max_event_streams);
  daemon_log("jobs: one worker process each, audio up to %g minutes, %d s at most, stopped after %d s without "
             "progress, %d MB of address space; %d MB kept free on disk",
             options.max_duration_minutes, options.job_timeout, options.stall_timeout, options.worker_memory_mb,
             options.min_free_mb);
  std::printf("Listening on %s\n", served_url(*listener, options).c_str());
  std::fflush(stdout);
  notify_systemd("READY=1");

  if (options.role != "api") model->start();  // an api node runs no job: no model
  guarded("expiry", [&] { scheduler->remove_expired(options.job_ttl); });
  struct Cleanup {
    JobScheduler *scheduler;
    std::int64_t ttl;
  } cleanup{scheduler.get(), options.job_ttl};
  const guint cleanup_source = g_timeout_add_seconds(
      static_cast<guint>(options.cleanup_interval),
      [](gpointer data) -> gboolean {
        auto *what = static_cast<Cleanup *>(data);
        guarded("expiry", [&] { what->scheduler->remove_expired(what->ttl); });
        return G_SOURCE_CONTINUE;
      },
      &cleanup);
  Shutdown shutdown;
  shutdown.loop = loop;
  shutdown.listener = &listener;
  shutdown.scheduler = scheduler.get();
  shutdown.grace_seconds = options.shutdown_grace;
  const guint interrupt_source = g_unix_signal_add(SIGINT, Shutdown::on_signal, &shutdown);
  const guint terminate_source = g_unix_signal_add(SIGTERM, Shutdown::on_signal, &shutdown);

  g_main_loop_run(loop);

  g_source_remove(cleanup_source);
  if (recovery_source && g_main_context_find_source_by_id(nullptr, recovery_source)) g_source_remove(recovery_source);
  g_source_remove(interrupt_source);
  g_source_remove(terminate_source);
  if (shutdown.poll_source) g_source_remove(shutdown.poll_source);
  // No new requests, then no workers (their jobs go back to the queue and
  // run again at the next start), then the model.
  listener.reset();
  api.reset();
  soup_server_disconnect(server);
  g_object_unref(server);
  scheduler.reset();
  model.reset();
  store.reset();
  g_main_loop_unref(loop);
  daemon_log("stopped");
  return 0;
}

}  // namespace
}  // namespace demucs

int main(int argc, char **argv) {
  std::setlocale(LC_ALL, "");
  if (argc > 1 && std::strcmp(argv[1], "worker") == 0) return demucs::run_worker(argc, argv);
  return demucs::run(argc, argv);
}
