#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test.
# Prints "N passed, N failed" and exits non-zero when a test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --tests
scripts/build.sh

status=0
meson test -C build --no-rebuild --print-errorlogs "$@" || status=$?

# One closing line for CI, from meson's JSON log.
python3 - build/meson-logs/testlog.json <<'PY' || true
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
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
