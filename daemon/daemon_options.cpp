#include "daemon_options.h"

#include "static_files.h"

#include <glib.h>

#include <cstdio>
#include <unistd.h>
#include <memory>
#include <string>
#include <variant>

namespace demucs {

namespace {

using Target = std::variant<std::string DaemonOptions::*, int DaemonOptions::*, std::int64_t DaemonOptions::*,
                            double DaemonOptions::*, bool DaemonOptions::*, std::vector<std::string> DaemonOptions::*>;

// One option: its name on the command line (the environment variable is
// DEMUCS_VOCALSD_ and the name in capitals, '-' as '_'), the member it sets,
// and for numbers the range allowed.
struct OptionSpec {
  const char *name;
  Target target;
  const char *value_name;  // nullptr for a flag
  const char *help;
  std::int64_t min = 0;
  std::int64_t max = 0;
};

constexpr std::int64_t kMaxSeconds = G_MAXINT32;

const OptionSpec kOptions[] = {
    {"host", &DaemonOptions::host, "ADDRESS",
     "Address to listen on (default 127.0.0.1). Any other than a loopback address needs --api-token"},
    {"port", &DaemonOptions::port, "PORT", "Port (default 8000; 0 picks a free one)", 0, 65535},
    {"data-dir", &DaemonOptions::data_dir, "DIR",
     "Folder for uploads, results and the job database (default ~/.local/share/demucs-vocals)"},
    {"model", &DaemonOptions::model, "MODEL",
     "Model: htdemucs (default), htdemucs_ft, htdemucs_6s, a Demucs .th file or a RoFormer .ckpt file"},
    {"config", &DaemonOptions::config, "FILE",
     "The YAML configuration of a RoFormer .ckpt --model (default: the .yaml beside it)"},
    {"device", &DaemonOptions::device, "DEVICE", "auto (default), cpu, cuda or cuda:N"},
    {"precision", &DaemonOptions::precision, "PRECISION",
     "fp32 (default), or fp16 / bf16 for half precision on a GPU (bf16 also on the CPU)"},
    {"max-upload-mb", &DaemonOptions::max_upload_mb, "MB", "Largest upload in MB (default 100)", 1, 1 << 20},
    {"max-jobs", &DaemonOptions::max_jobs, "N", "Separations run at once (default 1)", 1, 64},
    {"max-queue", &DaemonOptions::max_queue, "N", "Jobs that may wait; more uploads get 503 (default 100)", 1,
     1000000},
    {"job-ttl", &DaemonOptions::job_ttl, "SECONDS",
     "Seconds after which finished jobs and their files are removed (default 3600)", 1, kMaxSeconds},
    {"cleanup-interval", &DaemonOptions::cleanup_interval, "SECONDS",
     "Seconds between removals of expired jobs (default 300)", 1, kMaxSeconds},
    {"web-dir", &DaemonOptions::web_dir, "DIR", "Folder of the browser UI's files"},
    {"api-token", &DaemonOptions::api_token, "TOKEN",
     "Require \"Authorization: Bearer TOKEN\" on every API request (at least 16 characters; prefer "
     "--api-token-file or the environment, which other users cannot see)"},
    {"api-token-file", &DaemonOptions::api_token_file, "FILE", "Read the API token from the first line of FILE"},
    {"allow-unauthenticated", &DaemonOptions::allow_unauthenticated, nullptr,
     "Serve a non-loopback --host without a token (anyone who reaches the port can use the service)"},
    {"allowed-host", &DaemonOptions::allowed_hosts, "NAME",
     "A host name clients use to reach this server, e.g. behind a reverse proxy (repeatable); requests for "
     "other names get 421"},
    {"cors-origin", &DaemonOptions::cors_origins, "ORIGIN",
     "An origin (https://example.com) whose pages may call the API (repeatable)"},
    {"idle-timeout", &DaemonOptions::idle_timeout, "SECONDS",
     "Close a connection that sends or takes no byte for this long (default 30)", 1, 3600},
    {"header-timeout", &DaemonOptions::header_timeout, "SECONDS",
     "A request's headers must arrive within this long of its first byte, or it gets 408 and is closed; "
     "with HTTPS, a connection's TLS handshake must be done within this long too (default 10)",
     1, 3600},
    {"request-timeout", &DaemonOptions::request_timeout, "SECONDS",
     "A whole request must arrive within this long, plus one second per --min-upload-rate KiB of body received "
     "(default 60)",
     1, 86400},
    {"min-upload-rate", &DaemonOptions::min_upload_rate, "KIB_PER_S",
     "The slowest average rate at which a request body (an upload) is taken (default 16)", 1, 1 << 20},
    {"max-connections", &DaemonOptions::max_connections, "N", "Open connections at most (default 256)", 1,
     1000000},
    {"max-uploads", &DaemonOptions::max_uploads, "N",
     "Uploads received at once; more get 503 with Retry-After (default 8)", 1, 10000},
    {"max-event-streams", &DaemonOptions::max_event_streams, "N",
     "Open /events streams at most; more get 503 (default 64)", 1, 100000},
    {"tls-cert", &DaemonOptions::tls_cert, "FILE", "PEM certificate (chain): serve HTTPS (with --tls-key)"},
    {"tls-key", &DaemonOptions::tls_key, "FILE", "PEM private key of --tls-cert"},
    {"max-duration", &DaemonOptions::max_duration_minutes, "MINUTES",
     "Longest audio accepted, in minutes (default 30); a file that hides its length is stopped there", 0, 100000},
    {"job-timeout", &DaemonOptions::job_timeout, "SECONDS", "Longest a job may run (default 7200)", 1, kMaxSeconds},
    {"stall-timeout", &DaemonOptions::stall_timeout, "SECONDS",
     "A job whose worker reports no progress for this long is stopped (default 120)", 1, kMaxSeconds},
    {"worker-memory-mb", &DaemonOptions::worker_memory_mb, "MB",
     "Address space of each worker process (default 8192)", 256, 1 << 22},
    {"min-free-mb", &DaemonOptions::min_free_mb, "MB",
     "Free space kept in the data folder: uploads are refused and jobs stopped below it (default 1024)", 0,
     1 << 30},
    {"shutdown-grace", &DaemonOptions::shutdown_grace, "SECONDS",
     "On SIGTERM, how long running jobs may go on before they are stopped and queued again (default 30)", 0,
     kMaxSeconds},
    {"database", &DaemonOptions::database, "URL",
     "The job store: sqlite:PATH (default: jobs.sqlite3 in the data folder, for one daemon) or "
     "postgresql://USER@HOST/DATABASE, shared by several daemons with one --data-dir (libpq's PG* "
     "variables fill in what the URL leaves out; prefer them or ~/.pgpass for the password)"},
    {"role", &DaemonOptions::role, "ROLE",
     "all (default): take uploads and run jobs; api: take uploads and answer, run nothing; worker: run jobs, "
     "take no uploads"},
    {"node-name", &DaemonOptions::node_name, "NAME",
     "This daemon's name in the shared job store and the logs (default HOST:PID)"},
    {"job-lease", &DaemonOptions::job_lease, "SECONDS",
     "A running job's claim, renewed every sixth of it; a job whose node stops renewing runs again "
     "elsewhere after this long (default 30)",
     3, 3600},
    {"max-attempts", &DaemonOptions::max_attempts, "N",
     "Runs of a job cut short (its node stopped or lost the database) before it ends in error instead of "
     "running again (default 3; 0: no limit)",
     0, 1000},
    {"version", &DaemonOptions::show_version, nullptr, "Print the version and exit"},  // not from the environment
};

std::string environment_name(const OptionSpec &option) {
  std::string name = std::string("DEMUCS_VOCALSD_") + option.name;
  for (char &c : name) c = c == '-' ? '_' : g_ascii_toupper(c);
  return name;
}

std::vector<std::string> split_list(const std::string &text) {
  std::vector<std::string> items;
  gchar **parts = g_strsplit(text.c_str(), ",", -1);
  for (gchar **part = parts; *part; ++part) {
    gchar *item = g_strstrip(*part);
    if (*item) items.emplace_back(item);
  }
  g_strfreev(parts);
  return items;
}

// Sets `option` in `options` from `text`; false with `why` ("is not ...") if
// the text is not a valid value.
bool assign(const OptionSpec &option, const std::string &text, DaemonOptions &options, std::string &why) {
  struct Assign {
    const OptionSpec &option;
    const std::string &text;
    DaemonOptions &options;
    std::string &why;
    bool operator()(std::string DaemonOptions::*member) const {
      options.*member = text;
      return true;
    }
    bool number(std::int64_t &into) const {
      gint64 parsed = 0;
      if (!g_ascii_string_to_signed(text.c_str(), 10, option.min, option.max, &parsed, nullptr)) {
        why = "is not a whole number from " + std::to_string(option.min) + " to " + std::to_string(option.max);
        return false;
      }
      into = parsed;
      return true;
    }
    bool operator()(int DaemonOptions::*member) const {
      std::int64_t value = 0;
      if (!number(value)) return false;
      options.*member = static_cast<int>(value);
      return true;
    }
    bool operator()(std::int64_t DaemonOptions::*member) const { return number(options.*member); }
    bool operator()(double DaemonOptions::*member) const {
      gchar *end = nullptr;
      const double value = g_ascii_strtod(text.c_str(), &end);
      if (text.empty() || end == nullptr || *end != '\0' || !(value > 0) || value > static_cast<double>(option.max)) {
        why = "is not a number above 0 and up to " + std::to_string(option.max);
        return false;
      }
      options.*member = value;
      return true;
    }
    bool operator()(bool DaemonOptions::*member) const {
      if (text == "1" || text == "true" || text == "yes") {
        options.*member = true;
      } else if (text == "0" || text == "false" || text == "no") {
        options.*member = false;
      } else {
        why = "is not one of 1, true, yes, 0, false, no";
        return false;
      }
      return true;
    }
    bool operator()(std::vector<std::string> DaemonOptions::*member) const {
      options.*member = split_list(text);
      return true;
    }
  };
  return std::visit(Assign{option, text, options, why}, option.target);
}

bool is_flag(const OptionSpec &option) { return std::holds_alternative<bool DaemonOptions::*>(option.target); }
bool is_list(const OptionSpec &option) {
  return std::holds_alternative<std::vector<std::string> DaemonOptions::*>(option.target);
}

bool from_environment(DaemonOptions &options) {
  for (const OptionSpec &option : kOptions) {
    if (option.target == Target(&DaemonOptions::show_version)) continue;
    const std::string name = environment_name(option);
    const char *text = g_getenv(name.c_str());
    if (text == nullptr || *text == '\0') continue;
    std::string why;
    if (!assign(option, text, options, why)) {
      std::fprintf(stderr, "demucs-vocalsd: %s=%s %s\n", name.c_str(), text, why.c_str());
      return false;
    }
  }
  return true;
}

// What GOption writes for one option.
struct Slot {
  gchar *text = nullptr;
  gchar **list = nullptr;
  gboolean flag = FALSE;
  ~Slot() {
    g_free(text);
    g_strfreev(list);
  }
};

// The command line over what the environment set. False (with a message) on
// an error; `help_shown` when --help was asked for.
bool from_command_line(int &argc, char **&argv, DaemonOptions &options) {
  constexpr std::size_t count = G_N_ELEMENTS(kOptions);
  std::unique_ptr<Slot[]> slots(new Slot[count]);
  std::vector<GOptionEntry> entries;
  for (std::size_t i = 0; i < count; ++i) {
    const OptionSpec &option = kOptions[i];
    GOptionEntry entry{option.name, 0, 0, G_OPTION_ARG_STRING, &slots[i].text, option.help, option.value_name};
    if (is_flag(option)) {
      entry.arg = G_OPTION_ARG_NONE;
      entry.arg_data = &slots[i].flag;
    } else if (is_list(option)) {
      entry.arg = G_OPTION_ARG_STRING_ARRAY;
      entry.arg_data = &slots[i].list;
    }
    entries.push_back(entry);
  }
  entries.push_back(GOptionEntry{nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr});

  GOptionContext *context = g_option_context_new("- the demucs-vocals REST service and browser UI");
  g_option_context_add_main_entries(context, entries.data(), nullptr);
  g_option_context_set_description(
      context,
      "Each option can also be set by an environment variable: DEMUCS_VOCALSD_ and the\n"
      "option's name in capitals with '_' for '-' (DEMUCS_VOCALSD_MAX_JOBS=2,\n"
      "DEMUCS_VOCALSD_API_TOKEN=...); a comma-separated list for the repeatable ones. The\n"
      "command line wins. DEMUCS_VOCALS_CACHE chooses the model cache.\n");
  GError *error = nullptr;
  const bool parsed = g_option_context_parse(context, &argc, &argv, &error);
  g_option_context_free(context);
  if (!parsed) {
    std::fprintf(stderr, "demucs-vocalsd: %s (see --help)\n", error->message);
    g_error_free(error);
    return false;
  }
  if (argc > 1) {
    std::fprintf(stderr, "demucs-vocalsd: unexpected argument \"%s\" (see --help)\n", argv[1]);
    return false;
  }
  for (std::size_t i = 0; i < count; ++i) {
    const OptionSpec &option = kOptions[i];
    std::string why;
    if (is_flag(option)) {
      if (slots[i].flag) options.*std::get<bool DaemonOptions::*>(option.target) = true;
    } else if (is_list(option)) {
      if (slots[i].list == nullptr) continue;
      auto &list = options.*std::get<std::vector<std::string> DaemonOptions::*>(option.target);
      list.clear();
      for (gchar **item = slots[i].list; *item; ++item) list.emplace_back(*item);
    } else if (slots[i].text != nullptr && !assign(option, slots[i].text, options, why)) {
      std::fprintf(stderr, "demucs-vocalsd: --%s %s %s\n", option.name, slots[i].text, why.c_str());
      return false;
    }
  }
  return true;
}

// The first line of the token file, without surrounding white space.
bool read_token_file(DaemonOptions &options) {
  gchar *contents = nullptr;
  GError *error = nullptr;
  if (!g_file_get_contents(options.api_token_file.c_str(), &contents, nullptr, &error)) {
    std::fprintf(stderr, "demucs-vocalsd: cannot read the API token file: %s\n", error->message);
    g_error_free(error);
    return false;
  }
  std::string text = contents;
  g_free(contents);
  text = text.substr(0, text.find_first_of("\r\n"));
  const std::size_t first = text.find_first_not_of(" \t");
  const std::size_t last = text.find_last_not_of(" \t");
  options.api_token = first == std::string::npos ? "" : text.substr(first, last - first + 1);
  if (options.api_token.empty()) {
    std::fprintf(stderr, "demucs-vocalsd: the API token file %s is empty\n", options.api_token_file.c_str());
    return false;
  }
  return true;
}

bool valid_token(const std::string &token) {
  constexpr std::size_t kMinTokenLength = 16;
  if (token.size() < kMinTokenLength) {
    std::fprintf(stderr,
                 "demucs-vocalsd: the API token is too short (%zu characters): use at least %zu, for example "
                 "from `openssl rand -hex 32`\n",
                 token.size(), kMinTokenLength);
    return false;
  }
  for (char c : token)
    if (c <= ' ' || c > '~') {
      std::fprintf(stderr, "demucs-vocalsd: the API token may hold only printable ASCII characters, no spaces\n");
      return false;
    }
  return true;
}

}  // namespace

std::optional<DaemonOptions> parse_daemon_options(int &argc, char **&argv, int &exit_status) {
  DaemonOptions options;
  options.data_dir = std::string(g_get_user_data_dir()) + "/demucs-vocals";
  options.web_dir = default_web_folder();
  exit_status = 2;
  if (!from_environment(options) || !from_command_line(argc, argv, options)) return std::nullopt;
  if (!options.api_token_file.empty() && !read_token_file(options)) return std::nullopt;
  if (!options.api_token.empty() && !valid_token(options.api_token)) return std::nullopt;
  if (!options.precision.empty() && options.precision != "fp32" && options.precision != "fp16" &&
      options.precision != "bf16") {
    std::fprintf(stderr, "demucs-vocalsd: --precision %s is not one of fp32, fp16, bf16\n", options.precision.c_str());
    return std::nullopt;
  }
  if (options.role != "all" && options.role != "api" && options.role != "worker") {
    std::fprintf(stderr, "demucs-vocalsd: --role %s is not one of all, api, worker\n", options.role.c_str());
    return std::nullopt;
  }
  if (options.node_name.empty()) options.node_name = std::string(g_get_host_name()) + ":" + std::to_string(getpid());
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    std::fprintf(stderr, "demucs-vocalsd: HTTPS needs both --tls-cert and --tls-key\n");
    return std::nullopt;
  }
  exit_status = 0;
  return options;
}

}  // namespace demucs
