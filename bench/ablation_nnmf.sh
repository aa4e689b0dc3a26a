#!/usr/bin/env bash
# NNMF ablation on ML-1M (random 90/10, seed 1): each option beyond the paper, one at a time,
# on a single member of --preset ml-1m (the earlier best) without its lr decay (lambda 150, biases, clipping), one thread each.
# About 1.5 h in all; JSON in bench/results/nnmf_ablation/, table: python3 bench/table.py --ablation.
set -euo pipefail
cd "$(dirname "$0")/.."
export MFKIT_DATA_DIR="${MFKIT_DATA_DIR:-$(cd .. && pwd)/shared/data}"
B=build/bench/mfkit_bench_accuracy
O=bench/results/nnmf_ablation
mkdir -p "$O"
run() { name=$1; shift; $B --datasets ml-1m --models nnmf:ml-1m --seeds 1 --threads 1 --set nnmf:ml-1m:ensemble=1 --set nnmf:ml-1m:lr_decay=1 "$@" --out "$O/$name.json"; }
run base
run no_biases_clip --set nnmf:ml-1m:biases=false --set nnmf:ml-1m:clip=false
run lambda100 --set nnmf:ml-1m:lambda=100
run lambda200 --set nnmf:ml-1m:lambda=200
run d_prime120 --set nnmf:ml-1m:d_prime=120
run k3 --set nnmf:ml-1m:k=3
run hidden100 --set nnmf:ml-1m:hidden=100
run dropout --set nnmf:ml-1m:dropout=0.1
run relu --set nnmf:ml-1m:activation=relu
run adamw --set nnmf:ml-1m:optimizer=adamw --set nnmf:ml-1m:weight_decay=0.0001
run lr_decay --set nnmf:ml-1m:lr_decay=0.99
