#!/bin/sh
# Runs a short stream through demucsvocals in gst-launch-1.0 under valgrind
# and fails if anything is definitely or indirectly lost, or if a leak record
# passes through the plugin. One-time allocations of GLib, GStreamer and
# LibTorch (made when the libraries load) are suppressed by demucsvocals.supp.
#
#   valgrind_leak_check.sh MODEL.th SUPPRESSIONS LOG
#
# Run by `meson test --suite valgrind` (about 3 minutes on 2 cores), with
# GST_PLUGIN_PATH and GST_REGISTRY set to the build tree as for the other tests.
set -eu
model="$1"
suppressions="$2"
log="$3"

# Build the registry outside valgrind: a scan under it takes minutes.
gst-inspect-1.0 demucsvocals > /dev/null

status=0
G_SLICE=always-malloc G_DEBUG=gc-friendly OMP_WAIT_POLICY=PASSIVE \
  valgrind --leak-check=full --show-leak-kinds=definite,indirect --num-callers=40 \
    --suppressions="$suppressions" --log-file="$log" \
  gst-launch-1.0 -q audiotestsrc num-buffers=10 samplesperbuffer=4410 \
    ! audio/x-raw,rate=44100,channels=1 ! audioconvert \
    ! demucsvocals model="$model" device=cpu threads=1 segment=1 ! fakesink || status=$?
if [ "$status" -ne 0 ]; then
  echo "gst-launch-1.0 failed under valgrind (exit $status); see $log"
  exit 1
fi

lost() {  # bytes of a LEAK SUMMARY line, 0 when absent
  sed -n "s/.*$1: \([0-9,]*\) bytes.*/\1/p" "$log" | tr -d , | tail -n 1 | grep . || echo 0
}
definite=$(lost "definitely lost")
indirect=$(lost "indirectly lost")
echo "definitely lost: $definite bytes, indirectly lost: $indirect bytes (log: $log)"
# The leak records: from "... are definitely/indirectly lost ..." to the blank line.
records=$(awk '/are (definitely|indirectly) lost/ { inside = 1 } inside { print } /^==[0-9]+== $/ { inside = 0 }' "$log")
if printf '%s\n' "$records" | grep -Eq "libgstdemucsvocals|libdemucsvocals-elements"; then
  echo "a leak record passes through the demucsvocals plugin:"
  printf '%s\n' "$records"
  exit 1
fi
if [ "$definite" -ne 0 ] || [ "$indirect" -ne 0 ]; then
  echo "leaks outside the plugin that the suppressions do not cover:"
  printf '%s\n' "$records"
  exit 1
fi
echo "no leak"
