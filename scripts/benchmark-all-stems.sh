#!/usr/bin/env bash
# What all four stems cost through demucsdemux against one stem through
# demucsvocals (issue 12's goal: at most 1.05x): gst-launch-1.0 on --seconds
# of pink noise with a full-size checkpoint (pipeline-benchmark --keep-temp
# writes one with random weights), runs alternated, wall and CPU seconds and
# peak RSS of each (GNU time). Not a test.
#
#   scripts/benchmark-all-stems.sh MODEL.th [SECONDS=30] [PAIRS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
model="$1"
seconds="${2:-30}"
pairs="${3:-2}"
build="${BUILD_DIR:-build}"
export GST_PLUGIN_PATH="$PWD/$build/gst-plugin/loader" OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
temp="$(mktemp -d)"
trap 'rm -rf "$temp"' EXIT

gst-launch-1.0 -q audiotestsrc wave=pink-noise num-buffers=$((seconds * 44100 / 1024)) samplesperbuffer=1024 \
  ! audio/x-raw,rate=44100,channels=2,format=F32LE ! wavenc ! filesink location="$temp/in.wav"
source_chain="filesrc location=$temp/in.wav ! wavparse ! audioconvert ! audioresample"

timed() {  # NAME PIPELINE...: prints its wall and CPU seconds and peak RSS
  local name="$1"
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$temp/time" gst-launch-1.0 -q "$@" > /dev/null
  read -r wall user system kib < "$temp/time"
  printf '%-14s wall %7.2f s  cpu %7.2f s  peak %5d MiB\n' "$name" "$wall" "$(echo "$user + $system" | bc)" \
    $((kib / 1024))
}

echo "model $model, ${seconds} s, OMP_WAIT_POLICY=$OMP_WAIT_POLICY, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$pairs"); do
  timed "one stem" $source_chain ! demucsvocals model="$model" stem=vocals \
    ! audioconvert ! wavenc ! filesink location="$temp/vocals.wav"
  timed "all 4 stems" $source_chain ! demucsdemux name=d model="$model" \
    d.src_drums ! queue ! audioconvert ! wavenc ! filesink location="$temp/drums.wav" \
    d.src_bass ! queue ! audioconvert ! wavenc ! filesink location="$temp/bass.wav" \
    d.src_other ! queue ! audioconvert ! wavenc ! filesink location="$temp/other.wav" \
    d.src_vocals ! queue ! audioconvert ! wavenc ! filesink location="$temp/vocals4.wav"
done
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
