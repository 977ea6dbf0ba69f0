// Downloads checkpoints over HTTP(S) with libsoup, verified before they enter
// the cache: a file appears under its final name only once its sha256 matches.
// Built without the downloader (-Ddownloader=disabled), both functions throw a
// DownloadError saying where to put the file by hand (model_downloader_unavailable.cpp).
// download_verified_file, fetch_model_file and their types are part of the
// public API: declared in demucs/demucs.h.
#pragma once

#include "demucs/demucs.h"
#include "registry/model_cache.h"
#include "registry/model_registry.h"
