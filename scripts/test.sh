#!/usr/bin/env bash
# Builds mfkit (if needed) and runs the test suites: ctest, then pytest over the Python package.
# Tests that need real datasets use $MFKIT_DATA_DIR (default: ../shared/data beside the checkout,
# when it exists) and are skipped when the data is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${MFKIT_DATA_DIR:-}" ] && [ -d ../shared/data ]; then
  export MFKIT_DATA_DIR="$(cd ../shared/data && pwd)"
fi
./scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
# The Python package, from the build tree (Debian's python3, where numpy/scipy/pandas live).
PYTHONPATH="$PWD/build/python" /usr/bin/python3 -m pytest tests/python -q -p no:cacheprovider
# The documentation site (Sphinx over docs/*.md), warnings as errors: a broken link fails.
/usr/bin/python3 -m sphinx -W --keep-going -q -b html docs build/docs/html
