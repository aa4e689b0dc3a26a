#!/usr/bin/env bash
# Configures and builds mfkit into build/ (Release, Ninja, ccache). MFKIT_WERROR=ON (as CI sets)
# makes every compiler warning an error.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMFKIT_WERROR="${MFKIT_WERROR:-OFF}" "$@" >/dev/null
cmake --build build -j "$(nproc)"
