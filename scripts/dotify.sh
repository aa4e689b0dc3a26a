#!/usr/bin/env bash
# dotify on the Spotify charts in one command: ingest the charts into a store (once; re-running
# changes nothing), refit the model from the store, and serve the API and the web page.
#   ./scripts/dotify.sh            -> http://127.0.0.1:8080/
#   PORT=9000 ./scripts/dotify.sh
# The charts files carry no date ("latest", downloaded about 2021-04-25), so they are stored as
# the chart day 2021-04-24 (see ../shared/data/spotify-charts/SOURCE.md).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${MFKIT_DATA_DIR:-$(cd .. && pwd)/shared/data}"
CHARTS="$DATA/spotify-charts/raw"
PORT="${PORT:-8080}"
HOST="${HOST:-127.0.0.1}"
[ -d "$CHARTS" ] || { echo "dotify: no charts at $CHARTS (set MFKIT_DATA_DIR)" >&2; exit 1; }
[ -x build/mfkit ] || ./scripts/build.sh
mkdir -p var
build/mfkit ingest --store var/dotify.db --date 2021-04-24 "$CHARTS"
build/mfkit refit --store var/dotify.db --out var/dotify.mfk --quiet
exec build/mfkit serve -f dotify=var/dotify.mfk --host "$HOST" --port "$PORT"
