#!/usr/bin/env bash
# The main job: installs what is missing, builds, and separates a song.
# Usage: scripts/separate.sh SONG.wav -o VOCALS.wav [--stem instrumental] [--model htdemucs|FILE.th]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh" >&2
"$root/scripts/build.sh" >&2
exec "$root/build/cli/demucs-vocals" separate "$@"
