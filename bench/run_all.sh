#!/usr/bin/env bash
# Regenerates every benchmark JSON in bench/results (about 20 minutes on 2 cores, plus about
# 2.5 hours for the NNMF runs and 25 minutes for meta-mf at the end).
# Needs the datasets under $MFKIT_DATA_DIR and a Release build (./scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/bench
mkdir -p bench/results
$B/mfkit_bench_accuracy --datasets ml-100k,ml-1m --models biased-mf,biased-mf:ml-100k,als,als:ml-100k \
  --seeds 5 --threads 2 --out bench/results/rmse.json
$B/mfkit_bench_accuracy --datasets spotify-charts --split user:0.2:50 --seeds 3 --threads 2 \
  --models implicit-als:dotify,shallow-net:arch1,shallow-net:arch2,shallow-net:arch3,shallow-net:arch4,shallow-net:arch5 \
  --out bench/results/implicit_charts.json
# Every last.fm user lists at most 50 artists, so all users get the 20% holdout.
$B/mfkit_bench_accuracy --datasets lastfm-2k --split user:0.2 --seeds 3 --threads 2 \
  --models implicit-als:dotify,shallow-net:arch1,shallow-net:arch2,shallow-net:arch3,shallow-net:arch4,shallow-net:arch5 \
  --set shallow-net:arch1:cells=sampled --set shallow-net:arch2:cells=sampled --set shallow-net:arch3:cells=sampled \
  --set shallow-net:arch4:cells=sampled --set shallow-net:arch5:cells=sampled \
  --out bench/results/implicit_lastfm.json
$B/mfkit_bench_accuracy --datasets ml-1m --binarize --split loo:99 --seeds 5 --threads 2 \
  --models implicit-als:ml-1m-ncf --out bench/results/ncf_ml1m.json
# Ranking models beside them (docs/ranking.md); their settings came from validation carve-outs.
$B/mfkit_bench_accuracy --datasets lastfm-2k --split user:0.2 --seeds 3 --threads 2 \
  --models popularity,ease:lastfm,bpr,bpr:warp --out bench/results/ranking_lastfm.json
$B/mfkit_bench_accuracy --datasets spotify-charts --split user:0.2:50 --seeds 3 --threads 2 \
  --models popularity,ease,bpr,bpr:warp --out bench/results/ranking_charts.json
$B/mfkit_bench_accuracy --datasets ml-1m --binarize --split loo:99 --seeds 5 --threads 2 \
  --models popularity,ease:ml-1m-ncf,bpr,bpr:warp --out bench/results/ranking_ncf_ml1m.json
# Each dotify network's own search on a carve-out (about 45 minutes on last.fm-2k, 8 on the
# charts), then its best settings on the test protocols (ML-1M: last.fm-2k's; networks 4 and 5
# need titles, which this copy of ML-1M cannot join to its re-coded item ids).
PYTHONPATH=build/python /usr/bin/python3 bench/tune_nets.py --dataset lastfm-2k --split user:0.2 --trials 16 \
  --slow-trials 10 --out bench/results/nets_search_lastfm.json
PYTHONPATH=build/python /usr/bin/python3 bench/tune_nets.py --dataset spotify-charts --split user:0.2:50 --trials 40 \
  --slow-trials 20 --out bench/results/nets_search_charts.json
# shellcheck disable=SC2046
$B/mfkit_bench_accuracy --datasets spotify-charts --split user:0.2:50 --seeds 3 --threads 2 \
  $(python3 bench/tune_nets.py --bench-args bench/results/nets_search_charts.json) \
  --out bench/results/ranking_nets_searched_charts.json
# shellcheck disable=SC2046
$B/mfkit_bench_accuracy --datasets lastfm-2k --split user:0.2 --seeds 3 --threads 2 \
  $(python3 bench/tune_nets.py --bench-args bench/results/nets_search_lastfm.json) \
  --out bench/results/ranking_nets_searched_lastfm.json
# shellcheck disable=SC2046
$B/mfkit_bench_accuracy --datasets ml-1m --binarize --split loo:99 --seeds 3 --threads 2 \
  $(python3 bench/tune_nets.py --bench-args bench/results/nets_search_lastfm.json 1,2) \
  --out bench/results/ranking_nets_searched_ncf_ml1m.json
# shellcheck disable=SC2046
$B/mfkit_bench_accuracy --datasets ml-1m --binarize --split loo:99 --seeds 3 --threads 2 \
  $(python3 bench/tune_nets.py --bench-args bench/results/nets_search_lastfm.json 3) \
  --out bench/results/ranking_nets_searched_ncf_ml1m_arch3.json
# bpr against implicit's BPR (implicit built from its sources outside the project: docs/ranking.md)
if [ -n "${IMPLICIT_PATH:-}" ]; then
  PYTHONPATH=build/python /usr/bin/python3 bench/bpr_speed.py --pairs 5 --epochs 10 --out bench/results/bpr_speed.json
fi
# The kernels on each path (docs/kernels.md); OpenBLAS on the same instruction set.
for isa in avx2:Haswell avx512:SkylakeX; do
  MFKIT_ISA=${isa%:*} OPENBLAS_CORETYPE=${isa#*:} $B/mfkit_bench_kernels --benchmark_context=isa=${isa%:*} \
    --benchmark_out=bench/results/kernels_${isa%:*}.json --benchmark_out_format=json
done
# biased-mf's SGD epoch beside LIBMF's on each path (LIBMF built from its sources outside the
# project once per path: bench/sgd_libmf.py)
if [ -n "${LIBMF_SSE:-}" ] && [ -n "${LIBMF_AVX2:-}" ] && [ -n "${LIBMF_NATIVE:-}" ]; then
  PYTHONPATH=build/python /usr/bin/python3 bench/sgd_libmf.py --libmf baseline="$LIBMF_SSE" \
    --libmf avx2="$LIBMF_AVX2" --libmf avx512="$LIBMF_NATIVE" --processes 5 --out bench/results/sgd_libmf.json
fi
$B/mfkit_bench_nnmf --threads 2 --batch 8192 --epochs 3 --out bench/results/nnmf_speed.json
$B/mfkit_bench_nnmf --threads 2 --batch 0 --epochs 3 --out bench/results/nnmf_speed_fullbatch.json
# The committed ML-1M NNMF tables were run in two processes (seeds 1-3, 4-5); one file replaces them.
rm -f bench/results/nnmf_ml1m_s*.json bench/results/nnmf_best_ml1m_s*.json
$B/mfkit_bench_accuracy --datasets ml-100k --models nnmf:paper --seeds 5 --threads 2 --out bench/results/nnmf_ml100k.json
$B/mfkit_bench_accuracy --datasets ml-1m --models nnmf:paper-ml-1m --seeds 5 --threads 2 --out bench/results/nnmf_ml1m.json
# the earlier default, now --preset ml-1m (files named nnmf_best_* when it was `best`)
$B/mfkit_bench_accuracy --datasets ml-1m --models nnmf:ml-1m --seeds 5 --threads 2 \
  --out bench/results/nnmf_best_ml1m.json
# the defaults against tuned biased MF on four datasets, and the time-to-quality curve
bench/nnmf_defaults.sh
# meta-mf and its baselines on meta-test matrices (about 25 minutes on one core)
$B/mfkit_bench_meta --datasets ml-100k,ml-latest-small --cross ml-100k:ml-latest-small,ml-latest-small:ml-100k \
  --seeds 3 --test-episodes 100 --nnmf-episodes 20 --set max_steps=6000 eval_every=500 --out bench/results/meta.json
# start-up of commands with and without libtorch (interleaved, whole processes)
python3 bench/startup.py --rounds 20 --out bench/results/startup.json
# mfkit serve under load on loopback
$B/mfkit_bench_serve --seconds 10 --out bench/results/serve.json
# NNMF ablation (about 1.5 h): bench/ablation_nnmf.sh
# approximate top-N (HNSW) against the exact scan; serve over a 1M-item catalogue with an index
$B/mfkit_bench_ann --items 100000 --queries 1000 --out bench/results/ann_100k.json
$B/mfkit_bench_ann --items 1000000 --users 50000 --queries 2000 --metrics ip --ef 20 40 80 160 320 \
  --out bench/results/ann_1m.json
$B/mfkit_bench_ann --items 10000000 --users 50000 --queries 1000 --metrics ip --ef 20 40 80 160 320 \
  --out bench/results/ann_10m.json
# faiss's IVF beside HNSW on the same factors (needs libfaiss-dev at configure time)
$B/mfkit_bench_ann --items 1000000 --users 50000 --queries 2000 --metrics ip faiss-ivf faiss-ivf-l2-transform \
  --ef 20 40 80 160 --nprobe 4 16 64 256 512 --out bench/results/ann_faiss_1m.json
$B/mfkit_bench_serve --items 1000000 --users 20000 --index --no-reloads --seconds 10 --out bench/results/serve_1m_hnsw.json
python3 bench/ann_table.py --png docs/ann_recall.png bench/results/ann_100k.json bench/results/ann_1m.json \
  bench/results/ann_10m.json bench/results/ann_faiss_1m.json --serve bench/results/serve_1m_hnsw.json > docs/ann_results.md
# growth with the data: 1M, 10M, 30M, 100M lines in three rounds (about 20 minutes, 30 more to write the
# files the first time; they are kept in /tmp/mfkit-scale)
python3 bench/scale.py --dir /tmp/mfkit-scale --out bench/results/scale.json
python3 bench/scale_table.py --png docs/scale.png bench/results/scale.json > /dev/null
# biased-mf's grid, square against 5 item bands, on the scale files and three MovieLens sets
python3 bench/sgd_grid.py --speed /tmp/mfkit-scale/synthetic_{10000000,30000000,100000000}.csv \
  --accuracy ml-100k:random:0.9 ml-latest-small:random:0.9 ml-1m:random:0.9 \
  /tmp/mfkit-scale/synthetic_10000000.csv:hash:0.9 /tmp/mfkit-scale/synthetic_30000000.csv:hash:0.9 \
  --pairs 3 --seeds 3 --out bench/results/sgd_grid.json
# and on another shape (1M users x 20k items, 30 ratings a user) with ratings a rank-16 model explains
python3 bench/synthetic_csv.py --lines 30000000 --users 1000000 --items 20000 --rank 16 --seed 7 --out /tmp/rank16_30m.csv
python3 bench/sgd_grid.py --speed /tmp/rank16_30m.csv --accuracy /tmp/rank16_30m.csv:hash:0.9 --duplicates last \
  --pairs 3 --seeds 3 --out bench/results/sgd_grid_rank16.json
python3 bench/eval_speed.py --out bench/results/eval_10m.json -- build/mfkit train -m implicit-als \
  --data /tmp/mfkit-scale/synthetic_10000000.csv --format user,item,rating --sep , --duplicates sum \
  --split random:0.99 --threads 2
# distributed implicit-als at 1, 2 and 4 ranks on one machine, bytes beside the formula (docs/distributed.md)
python3 bench/synthetic_csv.py --lines 10000000 --users 150000 --items 30000 --out /tmp/s10m.csv
python3 bench/dist_bench.py --data /tmp/s10m.csv --ranks 1 2 4 --out bench/results/distributed_10m.json
python3 bench/dist_bench.py --model biased-mf --data /tmp/s10m.csv --ranks 1 2 4 --out bench/results/distributed_10m_dsgd.json
python3 bench/synthetic_csv.py --lines 100000000 --users 1500000 --items 300000 --out /tmp/s100m.csv
python3 bench/dist_bench.py --data /tmp/s100m.csv --ranks 1 2 4 --out bench/results/distributed_100m.json
python3 bench/dsgd_bench.py --data $MFKIT_DATA_DIR/ml-1m/derived/ratings_user_itemrank_rating.csv --header \
  --seeds 1 2 3 --out bench/results/dsgd_ml1m.json
# implicit-als against implicit 0.7 on the same file (implicit built from its sources outside the project)
if [ -n "${IMPLICIT_PATH:-}" ]; then
  PYTHONPATH=build/python /usr/bin/python3 bench/implicit_als_same_file.py --data /tmp/s10m.csv \
    --pairs 3 --isas avx2 avx512 --out bench/results/implicit_als_same_file.json
  PYTHONPATH=build/python /usr/bin/python3 bench/topn_implicit.py --isas avx2 avx512 --out bench/results/topn_implicit.json
  for n in 1m:1000000 30m:30000000 100m:100000000; do
    PYTHONPATH=build/python /usr/bin/python3 bench/implicit_als_same_file.py \
      --data /tmp/mfkit-scale/synthetic_${n#*:}.csv --solvers cg --pairs 2 \
      --out bench/results/implicit_als_same_file_${n%:*}.json
  done
fi
# every result table in README.md and docs/ from the JSON above
python3 bench/docs_tables.py
