#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs demucs-vocalsd, the
# REST service with its browser UI. It prints the URL to open. The model
# (htdemucs by default) is downloaded into the model cache at the first start.
# Usage: scripts/serve.sh [--port 8000] [--host 127.0.0.1] [--model htdemucs|FILE.th] [...]
#        (scripts/serve.sh --help lists every option)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh" >&2
"$root/scripts/build.sh" >&2
exec "$root/build/daemon/demucs-vocalsd" "$@"
