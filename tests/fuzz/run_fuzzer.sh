#!/bin/sh
# Runs one libFuzzer target for a bounded time (meson test --suite fuzz).
# usage: run_fuzzer.sh FUZZER SECONDS WORK_FOLDER SEED_FOLDER [REGRESSION_FOLDER]
# New corpus entries and crashing inputs go to WORK_FOLDER (in the build
# folder), never into the source tree. Exits non-zero on any crash, leak or
# sanitizer report (1, never libFuzzer's default 77, which meson reads as a skip).
set -eu
fuzzer=$1 seconds=$2 work=$3 seeds=$4
shift 4
mkdir -p "$work/corpus" "$work/artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
  -print_final_stats=1 -error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" "$@"
