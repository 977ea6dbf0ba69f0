#!/usr/bin/env bash
# Configures (once) and builds demucs-vocals in build/.
# Extra arguments go to `meson setup`, e.g. -Dlibtorch=/path/to/libtorch.
# --models-only: libdemucs alone (its tests and benchmark) in build-models-only/,
# with LibTorch, GoogleTest and the toolchain only.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
if [[ ${1:-} == --models-only ]]; then
  shift
  build_dir=build-models-only
  set -- -Dgstreamer=disabled -Dcli=disabled -Ddaemon=disabled -Ddownloader=disabled "$@"
fi

export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
# Paths below the checkout are hashed relative to it, so that another clone or
# git worktree of the project reuses the same cache entries.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
# The precompiled LibTorch header changes nothing ccache needs to see.
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
if [[ ! -f $build_dir/build.ninja ]]; then
  meson setup "$build_dir" "$@"
fi
ninja -C "$build_dir" -j "$(nproc)"
