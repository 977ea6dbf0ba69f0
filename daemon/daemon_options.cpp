#include "daemon_options.h"

#include "static_files.h"

#include <glib.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace demucs {

namespace {

// Fills `value` from the environment variable `name` when set; false (and a
// message) if it is not a whole number in [min, max].
bool number_from_environment(const char *name, std::int64_t min, std::int64_t max, std::int64_t &value) {
  const char *text = g_getenv(name);
  if (text == nullptr || *text == '\0') return true;
  gint64 parsed = 0;
  if (!g_ascii_string_to_signed(text, 10, min, max, &parsed, nullptr)) {
    std::fprintf(stderr, "demucs-vocalsd: %s=%s is not a whole number from %lld to %lld\n", name, text,
                 static_cast<long long>(min), static_cast<long long>(max));
    return false;
  }
  value = parsed;
  return true;
}

void string_from_environment(const char *name, std::string &value) {
  const char *text = g_getenv(name);
  if (text != nullptr && *text != '\0') value = text;
}

bool in_range(const char *option, std::int64_t value, std::int64_t min, std::int64_t max) {
  if (value >= min && value <= max) return true;
  std::fprintf(stderr, "demucs-vocalsd: --%s must be from %lld to %lld (got %lld)\n", option,
               static_cast<long long>(min), static_cast<long long>(max), static_cast<long long>(value));
  return false;
}

}  // namespace

std::optional<DaemonOptions> parse_daemon_options(int &argc, char **&argv, int &exit_status) {
  DaemonOptions options;
  options.data_dir = std::string(g_get_user_data_dir()) + "/demucs-vocals";
  options.web_dir = default_web_folder();
  exit_status = 2;

  // Environment first, then the command line over it.
  std::int64_t port = options.port, max_upload_mb = options.max_upload_mb, max_jobs = options.max_jobs,
               max_queue = options.max_queue, job_ttl = options.job_ttl,
               cleanup_interval = options.cleanup_interval;
  string_from_environment("DEMUCS_VOCALSD_HOST", options.host);
  string_from_environment("DEMUCS_VOCALSD_DATA_DIR", options.data_dir);
  string_from_environment("DEMUCS_VOCALSD_MODEL", options.model);
  string_from_environment("DEMUCS_VOCALSD_DEVICE", options.device);
  string_from_environment("DEMUCS_VOCALSD_WEB_DIR", options.web_dir);
  if (!number_from_environment("DEMUCS_VOCALSD_PORT", 0, 65535, port) ||
      !number_from_environment("DEMUCS_VOCALSD_MAX_UPLOAD_MB", 1, 1 << 20, max_upload_mb) ||
      !number_from_environment("DEMUCS_VOCALSD_MAX_JOBS", 1, 64, max_jobs) ||
      !number_from_environment("DEMUCS_VOCALSD_MAX_QUEUE", 1, 1000000, max_queue) ||
      !number_from_environment("DEMUCS_VOCALSD_JOB_TTL", 1, G_MAXINT32, job_ttl) ||
      !number_from_environment("DEMUCS_VOCALSD_CLEANUP_INTERVAL", 1, G_MAXINT32, cleanup_interval))
    return std::nullopt;

  gchar *host = nullptr, *data_dir = nullptr, *model = nullptr, *device = nullptr, *web_dir = nullptr;
  gint port_arg = static_cast<gint>(port), max_upload_arg = static_cast<gint>(max_upload_mb),
       max_jobs_arg = static_cast<gint>(max_jobs), max_queue_arg = static_cast<gint>(max_queue);
  gint64 ttl_arg = job_ttl, cleanup_arg = cleanup_interval;
  const GOptionEntry entries[] = {
      {"host", 0, 0, G_OPTION_ARG_STRING, &host, "Address to listen on (default 127.0.0.1)", "ADDRESS"},
      {"port", 0, 0, G_OPTION_ARG_INT, &port_arg, "Port (default 8000; 0 picks a free one)", "PORT"},
      {"data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir,
       "Folder for uploads, results and the job database (default ~/.local/share/demucs-vocals)", "DIR"},
      {"model", 0, 0, G_OPTION_ARG_STRING, &model,
       "Model: htdemucs (default), htdemucs_ft, htdemucs_6s, or a .th file", "MODEL"},
      {"device", 0, 0, G_OPTION_ARG_STRING, &device, "auto (default), cpu, cuda or cuda:N", "DEVICE"},
      {"max-upload-mb", 0, 0, G_OPTION_ARG_INT, &max_upload_arg, "Largest upload in MB (default 100)", "MB"},
      {"max-jobs", 0, 0, G_OPTION_ARG_INT, &max_jobs_arg, "Separations run at once (default 1)", "N"},
      {"max-queue", 0, 0, G_OPTION_ARG_INT, &max_queue_arg,
       "Jobs that may wait; more uploads get 503 (default 100)", "N"},
      {"job-ttl", 0, 0, G_OPTION_ARG_INT64, &ttl_arg,
       "Seconds after which finished jobs and their files are removed (default 3600)", "SECONDS"},
      {"cleanup-interval", 0, 0, G_OPTION_ARG_INT64, &cleanup_arg,
       "Seconds between removals of expired jobs (default 300)", "SECONDS"},
      {"web-dir", 0, 0, G_OPTION_ARG_FILENAME, &web_dir, "Folder of the browser UI's files", "DIR"},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
  };
  GOptionContext *context = g_option_context_new("- the demucs-vocals REST service and browser UI");
  g_option_context_add_main_entries(context, entries, nullptr);
  g_option_context_set_description(
      context,
      "Each option can also be set by an environment variable: DEMUCS_VOCALSD_HOST, _PORT,\n"
      "_DATA_DIR, _MODEL, _DEVICE, _MAX_UPLOAD_MB, _MAX_JOBS, _MAX_QUEUE, _JOB_TTL,\n"
      "_CLEANUP_INTERVAL, _WEB_DIR. DEMUCS_VOCALS_CACHE chooses the model cache.\n");
  GError *error = nullptr;
  const bool parsed = g_option_context_parse(context, &argc, &argv, &error);
  g_option_context_free(context);
  auto take = [](gchar *value, std::string &into) {
    if (value) into = value;
    g_free(value);
  };
  take(host, options.host);
  take(data_dir, options.data_dir);
  take(model, options.model);
  take(device, options.device);
  take(web_dir, options.web_dir);
  if (!parsed) {
    std::fprintf(stderr, "demucs-vocalsd: %s (see --help)\n", error->message);
    g_error_free(error);
    return std::nullopt;
  }
  if (argc > 1) {
    std::fprintf(stderr, "demucs-vocalsd: unexpected argument \"%s\" (see --help)\n", argv[1]);
    return std::nullopt;
  }
  if (!in_range("port", port_arg, 0, 65535) || !in_range("max-upload-mb", max_upload_arg, 1, 1 << 20) ||
      !in_range("max-jobs", max_jobs_arg, 1, 64) || !in_range("max-queue", max_queue_arg, 1, 1000000) ||
      !in_range("job-ttl", ttl_arg, 1, G_MAXINT32) || !in_range("cleanup-interval", cleanup_arg, 1, G_MAXINT32))
    return std::nullopt;
  options.port = port_arg;
  options.max_upload_mb = max_upload_arg;
  options.max_jobs = max_jobs_arg;
  options.max_queue = max_queue_arg;
  options.job_ttl = ttl_arg;
  options.cleanup_interval = cleanup_arg;
  exit_status = 0;
  return options;
}

}  // namespace demucs
