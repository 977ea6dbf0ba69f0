#!/usr/bin/env bash
# Installs the Debian 12 packages demucs-vocals needs, when they are missing.
# Usage: scripts/install-deps.sh [--tests]
set -euo pipefail

packages=(
  build-essential pkg-config meson ninja-build ccache
  libtorch-dev            # LibTorch 1.13 (CPU)
  libyaml-cpp-dev         # the RoFormer checkpoints' YAML configs
  libopenblas0-pthread    # LibTorch's matrix products ~17x faster than Debian's reference BLAS
  libglib2.0-dev libsoup-3.0-dev glib-networking
  libjson-glib-dev libsqlite3-dev   # the daemon
  libpq-dev               # the daemon's PostgreSQL job store (several nodes)
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-libav      # AAC / M4A
  help2man                # the man pages (-Dman=auto: skipped without it)
)
tests=false
if [[ "${1:-}" == "--tests" ]]; then
  tests=true
  packages+=(libgtest-dev valgrind)
  packages+=(postgresql-15)  # a throwaway PostgreSQL for the several-node tests (tests/daemon)
  packages+=(openssl)     # a self-signed certificate for the daemon's HTTPS test
  packages+=(systemd)     # systemd-analyze verify on the unit file (tests/install)
  packages+=(chromium)    # the browser tests of web/ (tests/web), headless
  # Node and npm for playwright-core, unless a node is already there.
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi

# playwright-core for the browser tests, at the version tests/web/package-lock.json
# pins, in tests/web/node_modules (as the user, not root through sudo).
install_web_test_modules() {
  local web_tests
  web_tests="$(cd "$(dirname "$0")/.." && pwd)/tests/web"
  local wanted installed
  wanted=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/playwright-core"].version)' \
    "$web_tests/package-lock.json")
  installed=$(node -e 'try { console.log(require(process.argv[1]).version) } catch (e) {}' \
    "$web_tests/node_modules/playwright-core/package.json")
  if [[ "$installed" != "$wanted" ]]; then
    echo "Installing playwright-core $wanted into tests/web/node_modules"
    npm ci --prefix "$web_tests" --no-audit --no-fund
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "Installing: ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "error: run as root or install sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if $tests; then
  install_web_test_modules
fi
