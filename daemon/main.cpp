// demucs-vocalsd: the REST service. Uploads become jobs, each job a
// separation pipeline (pipeline/), the browser UI in web/ is served at /.
#include "access_policy.h"
#include "daemon_log.h"
#include "daemon_options.h"
#include "descriptor_limit.h"
#include "http_listener.h"
#include "job_scheduler.h"
#include "job_store.h"
#include "model_provisioner.h"
#include "rest_api.h"
#include "static_files.h"

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

gboolean on_stop_signal(gpointer loop) {
  daemon_log("stopping (signal received)");
  g_main_loop_quit(static_cast<GMainLoop *>(loop));
  return G_SOURCE_CONTINUE;
}

int run(int argc, char **argv) {
  int exit_status = 0;
  std::optional<DaemonOptions> parsed = parse_daemon_options(argc, argv, exit_status);
  if (!parsed) return exit_status;
  const DaemonOptions options = *parsed;

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
  initialize_gstreamer_with_demucs_plugin();

  std::unique_ptr<JobStore> store;
  try {
    store = std::make_unique<JobStore>(options.data_dir + "/jobs.sqlite3");
  } catch (const JobStoreError &error) {
    std::fprintf(stderr, "demucs-vocalsd: %s\n", error.what());
    g_object_unref(address);
    return 1;
  }

  GMainLoop *loop = g_main_loop_new(nullptr, FALSE);
  auto scheduler = std::make_unique<JobScheduler>(
      *store, SchedulerSettings{options.data_dir, options.model, options.device, options.max_jobs});
  scheduler->recover();

  auto model = std::make_unique<ModelProvisioner>(
      options.model, options.device, g_main_context_default(), [&scheduler](const ModelProvisioner::State &state) {
        scheduler->set_model_state(state.phase == ModelProvisioner::Phase::ready,
                                   state.phase == ModelProvisioner::Phase::unavailable ? state.error_message : "");
      });

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
  api_settings.version = DEMUCS_VOCALS_VERSION;
  auto api = std::make_unique<RestApi>(server, *scheduler, *model, web, access, api_settings);

  auto listener = std::make_unique<HttpListener>(
      server, ListenerSettings{options.idle_timeout, max_connections, certificate});
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
  daemon_log("access: %s; %s; at most %d connections (idle timeout %d s), %d uploads, %d event streams",
             access.token_required() ? "API token required" : "no API token",
             listener->is_https() ? "HTTPS" : "plain HTTP", max_connections, options.idle_timeout,
             options.max_uploads, api_settings.max_event_streams);
  std::printf("Listening on %s\n", served_url(*listener, options).c_str());
  std::fflush(stdout);

  model->start();
  scheduler->remove_expired(options.job_ttl);
  struct Cleanup {
    JobScheduler *scheduler;
    std::int64_t ttl;
  } cleanup{scheduler.get(), options.job_ttl};
  const guint cleanup_source = g_timeout_add_seconds(
      static_cast<guint>(options.cleanup_interval),
      [](gpointer data) -> gboolean {
        auto *what = static_cast<Cleanup *>(data);
        what->scheduler->remove_expired(what->ttl);
        return G_SOURCE_CONTINUE;
      },
      &cleanup);
  const guint interrupt_source = g_unix_signal_add(SIGINT, on_stop_signal, loop);
  const guint terminate_source = g_unix_signal_add(SIGTERM, on_stop_signal, loop);

  g_main_loop_run(loop);

  g_source_remove(cleanup_source);
  g_source_remove(interrupt_source);
  g_source_remove(terminate_source);
  // No new requests, then no pipelines (their jobs stay "processing" in the
  // database and run again at the next start), then the model.
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
  // LibTorch's OpenMP threads (in the demucsvocals plugin) busy-wait by
  // default, which costs a quarter of the speed on small machines; libgomp
  // reads this when the plugin loads it.
  g_setenv("OMP_WAIT_POLICY", "PASSIVE", FALSE);
  return demucs::run(argc, argv);
}
