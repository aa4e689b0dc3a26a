#!/usr/bin/env bash
# ctest's Consumer.InstalledPackage: installs the build into a scratch prefix, then builds
# tests/consumer/main.cpp against it twice, as an outside project would (CMake's
# find_package(mfkit) and pkg-config), and runs both. Usage: run.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
# CMake: nothing of mfkit's source tree, only the prefix.
cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$work/cmake" > /dev/null
"$work/cmake/consumer" "$work/cmake.mfk"
# pkg-config: the .pc file is relocatable (prefix from its own folder).
pc=$(dirname "$(find "$work/prefix" -name mfkit.pc)")
libdir=$(PKG_CONFIG_PATH="$pc" pkg-config --variable=libdir mfkit)
# shellcheck disable=SC2046
${CXX:-c++} -std=c++17 -O1 "$here/main.cpp" -o "$work/pc-consumer" $(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs mfkit) \
  -Wl,-rpath,"$libdir"
"$work/pc-consumer" "$work/pc.mfk"
# The installed CLI finds its libraries beside it.
"$work/prefix/bin/mfkit" --version | head -1
