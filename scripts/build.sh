#!/usr/bin/env bash
# Configures (once) and builds demucs-vocals in build/.
# Extra arguments go to `meson setup`, e.g. -Dlibtorch=/path/to/libtorch.
set -euo pipefail
cd "$(dirname "$0")/.."

export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
# The precompiled LibTorch header changes nothing ccache needs to see.
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
if [[ ! -f build/build.ninja ]]; then
  meson setup build "$@"
fi
ninja -C build -j "$(nproc)"
