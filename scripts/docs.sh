#!/usr/bin/env bash
# Regenerates every generated page under docs/ (the CLI, Python and C++ references and the
# result tables), the pages tests/python/test_docs.py checks, and the Python package's type stubs
# python/mfkit/*.pyi, which tests/python/test_stubs.py checks. Needs a build (./scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
/usr/bin/python3 scripts/cli_docs.py build/mfkit > docs/cli-reference.md
PYTHONPATH=build/python /usr/bin/python3 scripts/python_docs.py > docs/python.md
PYTHONPATH=build/python /usr/bin/python3 scripts/stubs.py
/usr/bin/python3 scripts/cpp_docs.py > docs/cpp-api.md
/usr/bin/python3 bench/docs_tables.py
