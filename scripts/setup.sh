#!/usr/bin/env bash
# Installs every Debian package mfkit needs. Idempotent: packages already present are skipped.
# Runs as root, or through sudo when it is available.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libgloo-dev python3-torch libopenblas-dev libeigen3-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcpp-httplib-dev libboost-dev libssl-dev libzip-dev zlib1g-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev clang clang-format libclang-rt-14-dev libomp-14-dev
  libhnswlib-dev libfaiss-dev iso-codes python3
  iptables libnetfilter-queue-dev
  chromium nodejs
  pybind11-dev python3-dev python3-numpy python3-scipy python3-pandas python3-pytest
  python3-tqdm python3-optuna python3-setuptools python3-wheel python3-pip python3-matplotlib
  prometheus-cpp-dev python3-prometheus-client python3-sphinx python3-myst-parser furo
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The browser test's driver (playwright-core, pinned in tests/web/package-lock.json) from npm;
# it drives Debian's Chromium and downloads no browser of its own.
install_web_test_deps() {
  local web
  web="$(cd "$(dirname "$0")/.." && pwd)/tests/web"
  if [ -d "$web/node_modules/playwright-core" ]; then return 0; fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: npm not found; the browser test will be skipped" >&2
    return 0
  fi
  echo "setup: npm ci in tests/web (playwright-core)"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error) ||
    echo "setup: npm ci failed; the browser test will be skipped" >&2
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  install_web_test_deps
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_web_test_deps
