#!/usr/bin/env bash
# NNMF's default against tuned biased MF on four rating datasets (issue 14's table): 5 seeds,
# random 90/10, 2 threads. Tuned biased MF: bench/results/biased_mf_tuned.json (Optuna, 40 trials
# on a carve-out of seed 1's training part; ML-1M's tuned values are biased-mf's defaults).
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/bench/mfkit_bench_accuracy
T=bench/results/biased_mf_tuned.json
tuned() {  # --set flags for the tuned biased-mf entry of dataset $1
  python3 -c "import json,sys; p=json.load(open('$T'))['results']['$1']['params']; print(' '.join(f'--set biased-mf:ml-1m:{k}={v}' for k,v in p.items()))"
}
# shellcheck disable=SC2046
$B --datasets ml-100k --models biased-mf:ml-1m,biased-mf:ml-100k,als,nnmf,nnmf:paper,nnmf:accurate --seeds 5 --threads 2 \
  $(tuned ml-100k) --out bench/results/nnmf_defaults_ml-100k.json
for ds in ml-latest-small synthetic; do
  # shellcheck disable=SC2046
  $B --datasets $ds --models biased-mf:ml-1m,biased-mf:ml-100k,als,nnmf,nnmf:paper --seeds 5 --threads 2 \
    $(tuned $ds) --out bench/results/nnmf_defaults_$ds.json
done
$B --datasets ml-1m --models biased-mf,als,nnmf,nnmf:accurate --seeds 5 --threads 2 --out bench/results/nnmf_defaults_ml-1m.json
$B --datasets ml-latest-small,synthetic --models nnmf:accurate --seeds 5 --threads 2 --out bench/results/nnmf_defaults_accurate_more.json
$B --datasets ml-1m --models nnmf:paper --seeds 5 --threads 2 --out bench/results/nnmf_defaults_ml-1m_paper.json
# Time to quality on ML-1M (docs/time_to_quality.md): test RMSE after every epoch, seed 1. The
# earlier presets' curves (curve_ml1m.json, about 40 minutes) were run before the blend; the
# default's own curve is rerun alone and replaces its entry there.
# $B --datasets ml-1m --models biased-mf,als,nnmf,nnmf:paper,nnmf:paper-ml-1m,nnmf:ml-1m --seeds 1 --threads 2 --curve \
#   --out bench/results/curve_ml1m.json
$B --datasets ml-1m --models nnmf,nnmf:accurate --seeds 1 --threads 2 --curve --out bench/results/curve_ml1m_blend.json
python3 bench/curve.py --png docs/time_to_quality.png bench/results/curve_ml1m.json bench/results/curve_ml1m_blend.json \
  > docs/time_to_quality.md
