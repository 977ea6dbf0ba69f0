#!/usr/bin/env bash
# The main job: installs what is missing, builds, makes sure the model is in
# the cache, and separates a song.
# Usage: scripts/separate.sh SONG -o OUTPUT [--stem instrumental] [--model htdemucs|FILE.th] [...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh" >&2
"$root/scripts/build.sh" >&2

program="$root/build/cli/demucs-vocals"
model=htdemucs
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --model) model="${args[i + 1]:-}" ;;
    --model=*) model="${args[i]#--model=}" ;;
  esac
done
# A known model name is downloaded once (nothing happens when it is cached).
if [[ "$model" != *.th && ! -f "$model" ]]; then
  "$program" fetch "$model" >&2
fi
exec "$program" separate "$@"
