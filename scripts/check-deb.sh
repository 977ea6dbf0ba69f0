#!/usr/bin/env bash
# Builds the Debian packages, installs them on this machine, checks that they
# work with no environment variables set, then purges them and checks that
# nothing is left but the service's user data. Needs root (or sudo) and
# changes the system: run it on a machine you can do that on.
# Usage: scripts/check-deb.sh [OUTPUT_DIR]   (default build-deb/)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${1:-build-deb}
started=$SECONDS
sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)

failures=0
step() { echo; echo "== $* ($((SECONDS - started)) s)"; }
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# expect NAME COMMAND...: runs the command, PASS or FAIL with its output.
expect() {
  local name=$1 output
  shift
  if output=$("$@" 2>&1); then pass "$name"; else fail "$name"; echo "$output" | sed 's/^/    /'; fi
}
# expect_upstream_vocals FILE: the separated FILE against upstream's vocals
# (SNR >= 80 dB, as the golden tests), the figure printed either way.
expect_upstream_vocals() {
  local output status
  output=$("$stem_snr_check" "$1" "$upstream" 1 2>&1)
  status=$?
  if [[ $status -eq 0 ]]; then pass "its vocals match upstream's"; else fail "its vocals match upstream's"; fi
  echo "    $output"
}
contains() { grep -qF -- "$2" <<<"$1" || { echo "\"$2\" not in:"; echo "$1"; return 1; }; }

step "Building the packages"
scripts/build-deb.sh "$out" || { echo "FAIL: scripts/build-deb.sh" >&2; exit 1; }
out=$(cd "$out" && pwd)
plugin_deb=$(ls "$out"/gstreamer1.0-demucs_*.deb)
cli_deb=$(ls "$out"/demucs-vocals_*.deb)
lib_deb=$(ls "$out"/libdemucs0_*.deb)
dev_deb=$(ls "$out"/libdemucs-dev_*.deb)

step "Building the checker of separated files (build/tests/install/stem-snr-check)"
scripts/install-deps.sh --tests
[[ -f build/build.ninja ]] || meson setup build
ninja -C build tests/install/stem-snr-check || { echo "FAIL: cannot build stem-snr-check" >&2; exit 1; }
stem_snr_check=$root/build/tests/install/stem-snr-check
mix=$root/tests/data/mix.wav
tiny_model=$root/tests/data/htdemucs-tiny-4s.th
upstream=$root/tests/data/tiny-4s.apply.drums-vocals.npy  # rows: drums, vocals

scratch=$(mktemp -d)
chmod 755 "$scratch"
daemon_pid=""
cleanup() {
  [[ -n "$daemon_pid" ]] && kill "$daemon_pid" 2>/dev/null
  rm -rf "$scratch"
}
trap cleanup EXIT
state_dir=/var/lib/demucs-vocals
state_dir_existed=false
[[ -e $state_dir ]] && state_dir_existed=true

step "Installing $(basename "$plugin_deb"), $(basename "$cli_deb"), $(basename "$lib_deb") and $(basename "$dev_deb")"
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends \
  "$plugin_deb" "$cli_deb" "$lib_deb" "$dev_deb" || { echo "FAIL: apt-get install" >&2; exit 1; }
installed_files=$(dpkg -L gstreamer1.0-demucs demucs-vocals libdemucs0 libdemucs-dev)

# From here on no variable of ours: a bare environment, and a new home (so
# GStreamer builds its registry from scratch and finds the plugin itself).
mkdir -p "$scratch/home"
bare=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$scratch/home" LANG=C.UTF-8)

step "gst-inspect-1.0 demucsvocals"
inspect=$("${bare[@]}" gst-inspect-1.0 demucsvocals 2>&1)
expect "gst-inspect-1.0 finds demucsvocals" test $? -eq 0
# (/lib may be /usr/lib: the same file either way)
plugin_file=$(sed -n 's/^  Filename *//p' <<<"$inspect")
expect "from GStreamer's plugin folder ($plugin_file)" test "$(readlink -f "$plugin_file")" = \
  "$(readlink -f "$(pkg-config --variable=pluginsdir gstreamer-1.0)/libgstdemucsvocals.so")"
echo "$inspect" | sed -n '/^Plugin Details:/,/^$/p'

step "gst-launch-1.0 ... demucsvocals ..."
"${bare[@]}" gst-launch-1.0 -q filesrc location="$mix" ! decodebin ! audioconvert ! audioresample ! \
  demucsvocals model="$tiny_model" stem=vocals ! audioconvert ! wavenc ! \
  filesink location="$scratch/launch-vocals.wav"
expect "gst-launch-1.0 runs the pipeline" test $? -eq 0
expect_upstream_vocals "$scratch/launch-vocals.wav"

step "demucs-vocals"
version=$("${bare[@]}" demucs-vocals --version 2>&1)
expect "demucs-vocals --version" contains "$version" "demucs-vocals "
expect "man demucs-vocals" "${bare[@]}" man -w demucs-vocals
expect "man demucs-vocalsd" "${bare[@]}" man -w demucs-vocalsd
"${bare[@]}" demucs-vocals separate "$mix" -o "$scratch/cli-vocals.wav" \
  --stem vocals --model "$tiny_model"
expect "demucs-vocals separate runs" test $? -eq 0
expect_upstream_vocals "$scratch/cli-vocals.wav"

# The daemon as its unit starts it: ExecStart's command line and the unit's
# Environment=, run by hand (systemd may not be running here). The port comes
# from DEMUCS_VOCALSD_PORT=0 (a free one), the model from
# DEMUCS_VOCALSD_MODEL in the second run: the command line stays the unit's.
unit=$(dpkg -L demucs-vocals | grep '/systemd/system/demucs-vocalsd.service$')
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
read -ra unit_environment <<<"$(sed -n 's/^Environment=//p' "$unit" | tr '\n' ' ')"
read -ra command_line <<<"$exec_start"
# start_daemon VARIABLE=VALUE...: starts it, sets daemon_pid and url.
start_daemon() {
  "${bare[@]}" "${unit_environment[@]}" DEMUCS_VOCALSD_PORT=0 "$@" "${command_line[@]}" \
    >"$scratch/daemon.out" 2>"$scratch/daemon.err" &
  daemon_pid=$!
  url=""
  for _ in $(seq 100); do
    url=$(sed -n 's/^Listening on //p' "$scratch/daemon.out")
    [[ -n "$url" ]] && return 0
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$scratch/daemon.err"
  return 1
}
# stop_daemon: SIGTERM, then PASS if it exits with status 0.
stop_daemon() {
  kill -TERM "$daemon_pid"
  wait "$daemon_pid"
  local status=$?
  daemon_pid=""
  if [[ $status -eq 0 ]]; then pass "it stops on SIGTERM with status 0"; else
    fail "it stops on SIGTERM with status 0 (status $status)"; sed 's/^/    /' "$scratch/daemon.err"; fi
}

step "demucs-vocalsd from the unit: $exec_start"
if start_daemon; then
  pass "the daemon starts and listens on $url"
  health=$(curl -sS --max-time 10 "${url}health")
  echo "    /health: $health"
  expect "/health answers with its version" contains "$health" "\"version\":\"${version#demucs-vocals }\""
  expect "/ serves the installed web UI" cmp <(curl -sS --max-time 10 "$url") "$root/web/index.html"
  stop_daemon
  expect "it made its job database in $state_dir" test -f "$state_dir/jobs.sqlite3"
else
  fail "the daemon starts from the unit's command line"
fi

step "demucs-vocalsd separates an upload (DEMUCS_VOCALSD_MODEL=the tiny test model)"
if start_daemon DEMUCS_VOCALSD_MODEL="$tiny_model"; then
  upload=$(curl -sS --max-time 30 -F file=@"$mix" -F stem=vocals "${url}upload")
  job=$(sed -n 's/.*"job_id":"\([^"]*\)".*/\1/p' <<<"$upload")
  status=""
  for _ in $(seq 600); do
    status=$(curl -sS --max-time 10 "${url}status/$job" | sed -n 's/.*"status":"\([^"]*\)".*/\1/p')
    [[ "$status" == completed || "$status" == error ]] && break
    sleep 0.2
  done
  expect "the job completes (upload: $upload)" test "$status" = completed
  curl -sS --max-time 30 -o "$scratch/daemon-vocals.wav" "${url}download/$job"
  expect_upstream_vocals "$scratch/daemon-vocals.wav"
  curl -sS --max-time 10 -X DELETE "${url}jobs/$job" >/dev/null
  stop_daemon
else
  fail "the daemon starts with the tiny model"
fi

step "libdemucs for other programs (pkg-config)"
expect "pkg-config finds libdemucs $(pkg-config --modversion libdemucs 2>&1)" pkg-config --exists libdemucs
expect "demucs/demucs.h is installed" test -f "$(pkg-config --variable=includedir libdemucs)/demucs/demucs.h"

step "Purging the packages"
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get purge -y -q gstreamer1.0-demucs demucs-vocals libdemucs0 libdemucs-dev
left=()
while read -r path; do
  [[ -z "$path" || "$path" == "/." ]] && continue
  # Folders (and links to folders, /lib on a merged /usr) that the system
  # shares with other packages stay, and that is fine.
  if [[ -d "$path" ]]; then
    [[ "$path" == */demucs* ]] && left+=("$path")
  elif [[ -e "$path" || -L "$path" ]]; then
    left+=("$path")
  fi
done <<<"$installed_files"
for path in /var/cache/demucs-vocals /var/cache/private/demucs-vocals; do
  [[ -e "$path" ]] && left+=("$path")
done
expect "no file of the packages is left (${left[*]:-none})" test ${#left[@]} -eq 0
expect "dpkg forgot both packages" test -z "$(dpkg -l gstreamer1.0-demucs demucs-vocals 2>/dev/null | grep -E '^(ii|rc)')"
inspect_after=$("${bare[@]}" gst-inspect-1.0 demucsvocals 2>&1)
expect "gst-inspect-1.0 no longer finds demucsvocals" test $? -ne 0
if [[ -d "$state_dir" ]]; then
  pass "the user data is kept: $state_dir ($(find "$state_dir" | wc -l) entries)"
  if ! $state_dir_existed; then
    "${sudo_cmd[@]}" rm -rf "$state_dir"
    echo "    (removed: this check made it)"
  fi
fi

echo
if ((failures == 0)); then
  echo "check-deb: all checks passed in $((SECONDS - started)) s"
else
  echo "check-deb: $failures check(s) failed in $((SECONDS - started)) s"
fi
((failures == 0))
