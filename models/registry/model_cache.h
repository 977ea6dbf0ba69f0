// The local model cache: the folder that holds downloaded checkpoints, and the
// resolution of a model spec (a known name or a .th path) to verified files.
// ModelCache, ResolvedModel, CachedFileState, default_model_cache_folder and
// the errors are part of the public API: declared in demucs/demucs.h.
#pragma once

#include "demucs/demucs.h"
#include "registry/model_registry.h"
