#!/usr/bin/env bash
# Builds the Debian packages (gstreamer1.0-demucs, demucs-vocals) from this
# tree, with its uncommitted changes, then checks them with lintian.
# Usage: scripts/build-deb.sh [OUTPUT_DIR]   (default build-deb/)
# The .deb files, .changes and .buildinfo end up in OUTPUT_DIR; the build
# itself runs in OUTPUT_DIR/src, a copy of the tree. Exits non-zero when the
# build fails or lintian reports an error.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${1:-build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# What the build needs: the project's own dependencies, the Debian tools,
# then whatever debian/control asks for beyond those.
scripts/install-deps.sh
sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} > 0)); then
    echo "Installing: ${missing[*]}"
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}
install_packages devscripts debhelper lintian dpkg-dev
unmet=$(dpkg-checkbuilddeps 2>&1 | sed -n 's/.*Unmet build dependencies: //p' | sed 's/([^)]*)//g; s/|[^ ]*//g')
if [[ -n "$unmet" ]]; then
  read -ra unmet_packages <<<"$unmet"
  install_packages "${unmet_packages[@]}"
fi

# A clean copy of the tree: the tracked files and the new ones git does not
# ignore (so no build folders). dpkg-buildpackage writes the packages into
# the copy's parent folder, OUTPUT_DIR.
rm -rf "$out/src" "$out"/*.deb "$out"/*.ddeb "$out"/*.changes "$out"/*.buildinfo
mkdir -p "$out/src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$root" ls-files -z --cached --others --exclude-standard |
    tar -C "$root" --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$out/src" -xf -
else
  tar -C "$root" --exclude='./build*' --exclude='./node_modules' --exclude='./tests/web/node_modules' -cf - . |
    tar -C "$out/src" -xf -
fi

# meson uses ccache when it is there: share the developer's cache (debhelper
# gives the build a home folder of its own).
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
# The precompiled LibTorch header changes nothing ccache needs to see (as in scripts/build.sh).
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$out/src}"
echo "Building the packages in $out/src"
(cd "$out/src" && dpkg-buildpackage -b -us -uc -j"$(nproc)")

echo
echo "Packages in $out:"
for deb in "$out"/*.deb; do
  printf '  %-50s %8s KiB, installed %8s KiB\n' "$(basename "$deb")" "$(( $(stat -c %s "$deb") / 1024 ))" \
    "$(dpkg-deb -f "$deb" Installed-Size)"
done

echo
echo "lintian:"
changes=$(ls "$out"/*.changes)
status=0
lintian --fail-on error --display-info "$changes" || status=$?
if [[ $status -eq 0 ]]; then
  echo "lintian: no errors"
else
  echo "lintian: errors (exit status $status)" >&2
fi
exit $status
