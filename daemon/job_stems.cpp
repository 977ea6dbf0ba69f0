#include "job_stems.h"

#include "output_format.h"
#include "separation_pipeline.h"

#include <glib.h>

#include <algorithm>

namespace demucs {

namespace {

std::string job_folder(const Job &job) {
  gchar *folder = g_path_get_dirname(job.output_path.c_str());
  std::string text = folder;
  g_free(folder);
  return text;
}

std::string upload_base_name(const Job &job) {
  std::string base = job.filename;
  const std::size_t dot = base.rfind('.');
  if (dot != std::string::npos && dot > 0) base.erase(dot);
  return base.empty() ? "audio" : base;
}

constexpr const char *kOutputName = "output";  // as output_name_of_input(FOLDER/output.<format>)

}  // namespace

bool job_has_several_stems(const Job &job) { return job.stem.find(',') != std::string::npos || job.stem == "all"; }

std::vector<std::string> requested_stems(const Job &job) { return parse_stem_list(job.stem); }

std::string job_stem_path(const Job &job, const std::string &stem) {
  const std::optional<OutputFormat> format = output_format_from_name(job.format);
  return stem_output_path(job_folder(job), kOutputName, stem, format.value_or(OutputFormat::wav));
}

std::string job_stem_archive_path(const Job &job) { return job_folder(job) + "/" + kOutputName + "_stems.zip"; }

std::vector<std::string> produced_stems(const Job &job) {
  if (!job_has_several_stems(job))
    return g_file_test(job.output_path.c_str(), G_FILE_TEST_IS_REGULAR) ? std::vector<std::string>{job.stem}
                                                                         : std::vector<std::string>{};
  std::vector<std::string> stems;
  const std::vector<std::string> requested = requested_stems(job);
  if (requested != std::vector<std::string>{"all"}) {
    for (const std::string &stem : requested)
      if (g_file_test(job_stem_path(job, stem).c_str(), G_FILE_TEST_IS_REGULAR)) stems.push_back(stem);
    return stems;
  }
  const std::string prefix = std::string(kOutputName) + "_";
  const std::string suffix = "." + job.format;
  if (GDir *dir = g_dir_open(job_folder(job).c_str(), 0, nullptr)) {
    while (const gchar *entry = g_dir_read_name(dir)) {
      const std::string name = entry;
      if (name.size() > prefix.size() + suffix.size() && name.rfind(prefix, 0) == 0 &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        stems.push_back(name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()));
    }
    g_dir_close(dir);
  }
  // Upstream's source order, then the instrumental, as the element's pads come.
  const std::vector<std::string> order = {"drums", "bass", "other", "vocals", "guitar", "piano"};
  auto rank = [&](const std::string &stem) {
    if (stem == "instrumental") return order.size() + 1;
    return static_cast<std::size_t>(std::find(order.begin(), order.end(), stem) - order.begin());
  };
  std::sort(stems.begin(), stems.end(), [&](const std::string &a, const std::string &b) {
    return rank(a) != rank(b) ? rank(a) < rank(b) : a < b;
  });
  return stems;
}

std::string stem_download_name(const Job &job, const std::string &stem) {
  return upload_base_name(job) + "_" + stem + "." + job.format;
}

std::string stem_archive_download_name(const Job &job) { return upload_base_name(job) + "_stems.zip"; }

}  // namespace demucs
