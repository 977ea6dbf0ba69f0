#!/usr/bin/env bash
# `meson install` into a temporary DESTDIR, then: exactly the expected files
# are there, and the installed programs and plugin run from there. TAP output.
#
# Usage: installed_files_test.sh BUILD_DIR PREFIX PLUGIN_DIR BIN_DIR UNIT_DIR MAN_DIR \
#          WEB_SOURCE_DIR WEB_INSTALL_DIR VERSION ORIGIN TEST_DATA_DIR STEM_SNR_CHECK \
#          -- EXPECTED_FILE...
# Every directory but BUILD_DIR, WEB_SOURCE_DIR and TEST_DATA_DIR is absolute,
# as installed (without DESTDIR). EXPECTED_FILE: every installed file but the
# web UI's, which are the files of WEB_SOURCE_DIR.
set -uo pipefail

build_dir=$1 prefix=$2 plugin_dir=$3 bin_dir=$4 unit_dir=$5 man_dir=$6 web_source=$7 web_dir=$8
version=$9 origin=${10} test_data=${11} stem_snr_check=${12}
shift 12
[[ "${1:-}" == "--" ]] && shift
expected=("$@")

tests_run=0
failures=0
ok() { tests_run=$((tests_run + 1)); echo "ok $tests_run - $1"; }
not_ok() {
  tests_run=$((tests_run + 1)) failures=$((failures + 1))
  echo "not ok $tests_run - $1"
  [[ -n "${2:-}" ]] && sed 's/^/# /' <<<"$2"
}
# check NAME COMMAND...: one TAP line, the command's output shown when it fails.
check() {
  local name=$1 output
  shift
  if output=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$output"; fi
}
contains() { grep -qF -- "$2" <<<"$1" || { echo "\"$2\" not in:"; echo "$1"; return 1; }; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
destdir=$scratch/destdir

if output=$(meson install -C "$build_dir" --no-rebuild --quiet --destdir "$destdir" 2>&1); then
  ok "meson install --destdir"
else
  not_ok "meson install --destdir" "$output"
  echo "1..$tests_run"
  exit 1
fi

# The file list: what was asked for, and nothing else.
while read -r name; do
  expected+=("$web_dir/$name")
done < <(cd "$web_source" && find . -type f ! -path ./README.md | sed 's|^\./||')
expected_list=$(printf '%s\n' "${expected[@]}" | sort)
installed_list=$(cd "$destdir" && find . \( -type f -o -type l \) | sed 's/^\.//' | sort)
check "installed files are exactly the expected ones" \
  diff -u --label expected --label installed <(echo "$expected_list") <(echo "$installed_list")
for program in demucs-vocals demucs-vocalsd; do
  check "$program is executable" test -x "$destdir$bin_dir/$program"
done

# The installed programs run from where they are.
version_output=$("$destdir$bin_dir/demucs-vocals" --version 2>&1)
check "demucs-vocals --version prints \"demucs-vocals $version\"" test "$version_output" = "demucs-vocals $version"
daemon_version_output=$("$destdir$bin_dir/demucs-vocalsd" --version 2>&1)
check "demucs-vocalsd --version prints \"demucs-vocalsd $version\"" test "$daemon_version_output" = "demucs-vocalsd $version"
help_output=$("$destdir$bin_dir/demucs-vocalsd" --help 2>&1)
check "demucs-vocalsd --help exits 0" test $? -eq 0
check "demucs-vocalsd --help lists --data-dir" contains "$help_output" "--data-dir=DIR"

# The unit starts the installed daemon with the service's data folder.
unit=$destdir$unit_dir/demucs-vocalsd.service
check "the unit's ExecStart is the installed daemon" \
  contains "$(cat "$unit")" "ExecStart=$bin_dir/demucs-vocalsd --data-dir=/var/lib/demucs-vocals"

# The unit file as systemd reads it, its ExecStart pointed at the DESTDIR's
# daemon and its man page looked up in the DESTDIR.
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$scratch/unit"
  sed "s|ExecStart=$bin_dir/|ExecStart=$destdir$bin_dir/|" "$unit" >"$scratch/unit/demucs-vocalsd.service"
  man_check=--man=no
  [[ -f "$destdir$man_dir/man1/demucs-vocalsd.1" ]] && man_check=--man=yes
  check "systemd-analyze verify accepts the unit" \
    env MANPATH="$destdir$man_dir" systemd-analyze verify "$man_check" "$scratch/unit/demucs-vocalsd.service"
  # 1.8 ("OK") with systemd 252; without the sandboxing settings, 9.2. The
  # threshold is in tenths.
  check "systemd-analyze security rates the unit's exposure at most 2.5" \
    systemd-analyze security --offline=yes --threshold=25 "$scratch/unit/demucs-vocalsd.service"
else
  tests_run=$((tests_run + 1))
  echo "ok $tests_run - systemd-analyze verify accepts the unit # SKIP no systemd-analyze (Debian package systemd)"
fi

# The man pages, when built: each names its program and lists its options.
if [[ -f "$destdir$man_dir/man1/demucs-vocals.1" ]]; then
  for page in demucs-vocals:separate demucs-vocalsd:--data-dir; do
    program=${page%%:*} word=${page#*:}
    # The roff source without its font changes and with plain hyphens.
    text=$(sed 's/\\f[BIRP]//g; s/\\-/-/g' "$destdir$man_dir/man1/$program.1")
    check "the $program man page names it" contains "$text" "$program - "
    check "the $program man page says \"$word\"" contains "$text" "$word"
  done
else
  tests_run=$((tests_run + 1))
  echo "ok $tests_run - man pages # SKIP built without man pages (-Dman=disabled or no help2man)"
fi

# The plugin, from the DESTDIR's plugin folder only (no system plugins, a
# registry of our own).
inspect_output=$(env -u GST_PLUGIN_PATH_1_0 GST_PLUGIN_PATH="$destdir$plugin_dir" \
  GST_PLUGIN_SYSTEM_PATH="" GST_PLUGIN_SYSTEM_PATH_1_0="" GST_REGISTRY="$scratch/registry.bin" \
  gst-inspect-1.0 demucsvocals 2>&1)
check "gst-inspect-1.0 finds demucsvocals in the installed plugin folder" test $? -eq 0
check "the plugin is the installed file" \
  contains "$inspect_output" "Filename                 $destdir$plugin_dir/libgstdemucsvocals.so"
check "the plugin's version is $version" contains "$inspect_output" "Version                  $version"
check "the plugin's license is MIT (GStreamer's MIT/X11)" contains "$inspect_output" "License                  MIT/X11"
check "the plugin's origin is this project" contains "$inspect_output" "Origin URL               $origin"

# The installed command separates with the installed plugin (the system's
# plugins decode), as well as upstream does.
separate_output=$(GST_PLUGIN_PATH="$destdir$plugin_dir" GST_REGISTRY="$scratch/registry-all.bin" \
  DEMUCS_VOCALS_CACHE="$scratch/cache" OMP_WAIT_POLICY=PASSIVE \
  "$destdir$bin_dir/demucs-vocals" separate "$test_data/mix.wav" -o "$scratch/vocals.wav" \
  --stem vocals --model "$test_data/htdemucs-tiny-4s.th" --device cpu 2>&1)
if [[ $? -eq 0 ]]; then
  check "the installed demucs-vocals separates the mix as upstream does" \
    "$stem_snr_check" "$scratch/vocals.wav" "$test_data/tiny-4s.apply.drums-vocals.npy" 1
else
  not_ok "the installed demucs-vocals separates the mix as upstream does" "$separate_output"
fi

echo "1..$tests_run"
[[ $failures -eq 0 ]]
