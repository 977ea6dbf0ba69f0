// Downloads checkpoints over HTTP(S) with libsoup, verified before they enter
// the cache: a file appears under its final name only once its sha256 matches.
// Built without the downloader (-Ddownloader=disabled), both functions throw a
// DownloadError saying where to put the file by hand.
#pragma once

#include "registry/model_cache.h"
#include "registry/model_registry.h"


#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

// GIO's cancellation object, declared as GIO declares it so that this header
// needs no GLib (the downloader itself is the only user).
typedef struct _GCancellable GCancellable;

namespace demucs {

/// A download failed; the message names the URL and the folder where the file
/// can be put by hand. Nothing of the failed download is left on disk.
class DownloadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Called after each block received: bytes so far, and the total (-1 when the
/// server does not send a length). Values grow; the last call has the full size.
/// An exception thrown from it aborts the download (and propagates).
using DownloadProgress = std::function<void(std::int64_t done, std::int64_t total)>;

/// One file to download into a folder.
struct DownloadRequest {
  std::string url;
  std::string folder;         ///< created if missing
  std::string file_name;      ///< the final name in `folder`
  std::string sha256_prefix;  ///< must be non-empty: nothing unverified is kept
};

/// Downloads request.url into request.folder/request.file_name: streams it into
/// a temporary file `<file_name>.part-XXXXXX` in the same folder, checks the HTTP
/// status (200), the length (when announced) and the sha256 prefix, then renames
/// it into place atomically (replacing any older file of that name). On any
/// failure (network, HTTP status, hash mismatch, disk, cancellation) the
/// temporary file is deleted and DownloadError is thrown.
void download_verified_file(const DownloadRequest &request, const DownloadProgress &progress = {},
                            GCancellable *cancellable = nullptr);

/// What fetch_model_file did.
enum class FetchOutcome {
  already_cached,  ///< a verified copy was there; nothing was downloaded
  downloaded,
};

/// Makes sure `cache` holds a verified copy of `file`: nothing to do if it has
/// one, else downloads file.url() (below model_download_root()).
FetchOutcome fetch_model_file(const ModelCache &cache, const ModelFile &file,
                              const DownloadProgress &progress = {},
                              GCancellable *cancellable = nullptr);

}  // namespace demucs
