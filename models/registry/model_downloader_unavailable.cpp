// The downloader of a libdemucs built with -Ddownloader=disabled (no libsoup):
// every download is a DownloadError that says where to put the file by hand.
#include "registry/model_downloader.h"

namespace demucs {

void download_verified_file(const DownloadRequest &request, const DownloadProgress & /*progress*/,
                            GCancellable * /*cancellable*/) {
  throw DownloadError("cannot download " + request.url +
                      ": this libdemucs was built without the downloader (meson -Ddownloader=disabled). "
                      "Download it by hand and put it into the folder " + request.folder + " as " +
                      request.file_name + ", or rebuild with -Ddownloader=enabled (needs libsoup-3.0)");
}

FetchOutcome fetch_model_file(const ModelCache &cache, const ModelFile &file, const DownloadProgress &progress,
                              GCancellable *cancellable) {
  if (cache.state_of(file) == CachedFileState::verified) return FetchOutcome::already_cached;
  download_verified_file(
      DownloadRequest{file.url(), cache.folder(), file.file_name, cache.expected_sha256(file), file.sha256_prefix.empty()},
      progress, cancellable);
  return FetchOutcome::downloaded;
}

}  // namespace demucs
