#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang 14 in build-fuzz/ and
# runs each for a bounded time; fails on any crash, leak or sanitizer report.
# usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [meson test arguments, e.g. a target name]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true

if ! command -v clang++-14 >/dev/null || ! ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get install -y --no-install-recommends clang-14 libclang-rt-14-dev
fi
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
if [[ ! -f build-fuzz/build.ninja ]]; then
  CC=clang-14 CXX=clang++-14 meson setup build-fuzz -Dfuzzing=true -Dbuildtype=debugoptimized -Db_ndebug=false \
    -Dfuzz_seconds="$seconds"
else
  meson configure build-fuzz -Dfuzz_seconds="$seconds"
fi
ninja -C build-fuzz -j "$(nproc)"
meson test -C build-fuzz --no-rebuild --suite fuzz --print-errorlogs "$@"
