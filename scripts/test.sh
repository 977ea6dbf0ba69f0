#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test.
# Prints "N passed, N failed" and exits non-zero when a test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --tests
scripts/build.sh

status=0
meson test -C build --no-rebuild --print-errorlogs "$@" || status=$?

# libdemucs alone, as a GPU machine builds it (LibTorch, GoogleTest and the
# toolchain; no GStreamer, libsoup, json-glib or SQLite): its build and tests,
# then the CPU path of the GPU check on that build (ccache makes the second
# build of models/ cheap). Skipped when the arguments pick some tests only.
models_logs=()
if [[ $# -eq 0 ]]; then
  scripts/build.sh --models-only
  meson test -C build-models-only --no-rebuild --print-errorlogs || status=$?
  models_logs+=(build-models-only/meson-logs/testlog.json)
  if scripts/gpu-check.sh --fast --build-dir build-models-only > build-models-only/gpu-check.json; then
    echo "gpu-check --fast: OK (build-models-only/gpu-check.json)"
  else
    echo "gpu-check --fast: FAILED (build-models-only/gpu-check.json)"
    status=1
  fi
fi

# One closing line for CI, from meson's JSON logs.
python3 - build/meson-logs/testlog.json "${models_logs[@]}" <<'PY' || true
import json, sys
passed = failed = skipped = 0
for log in sys.argv[1:]:
    for line in open(log):
        result = json.loads(line)["result"]
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
