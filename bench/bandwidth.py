#!/usr/bin/env python3
"""How far implicit-als's CG iteration is from the memory system's limit, at each size of the scale
table: the bytes an iteration must move per interaction, against the machine's measured bandwidth.

    python3 bench/bandwidth.py bench/results/scale.json bench/results/kernels_avx512.json

The bytes (a lower bound: every factor row comes from memory once per pass, and is then in cache
for the CG steps of the same row): each interaction costs one read of the other side's factor row
(4f bytes), its column index and its confidence (8 bytes) in each half sweep, and once more in the
loss pass (the scale runs computed the loss: implicit-als's default until compute_loss became
opt-in); each factor row is read for the Gram matrix, solved and written once per half
(3 x 4f bytes per user and per item). Measured bandwidth: STREAM's triad (sequential) and random
256-byte rows read 8 rows ahead (what CG's gathers are) from bench/kernels_bench.cpp, 2 threads.
"""
import json
import sys


def main(scale_path, kernels_path, f=64):
    scale, kern = json.load(open(scale_path)), json.load(open(kernels_path))
    rate = {"/".join(x for x in b["name"].split("/") if ":" not in x and x != "real_time"): b["bytes_per_second"]
            for b in kern["benchmarks"] if "bytes_per_second" in b}
    triad, gather = rate["BM_Triad/2"], rate["BM_GatherRows/64/2"]
    print("| lines | interactions | CG iteration | ns per interaction | bytes per interaction (lower bound) "
          "| achieved GB/s | share of triad | share of random-row reads |")
    print("|---|---|---|---|---|---|---|---|")
    for r in scale["rows"]:
        nnz, secs = r["interactions"], r["implicit-als"]["seconds_per_iteration"]
        per = 3 * (4 * f + 8) + 3 * 4 * f * 2 * (r["users"] + r["items"]) / nnz
        gbs = per * nnz / secs / 1e9
        print(f"| {r['lines'] / 1e6:.0f}M | {nnz:,} | {secs:.2f} s | {secs / nnz * 1e9:.0f} | {per:.0f} "
              f"| {gbs:.1f} | {gbs / (triad / 1e9):.0%} | {gbs / (gather / 1e9):.0%} |")
    print(f"\nMeasured on the {kern['context'].get('isa', 'native')} path's run: triad {triad / 1e9:.1f} GB/s, "
          f"random 256-byte rows {gather / 1e9:.1f} GB/s (2 threads). f={f}; `python3 bench/bandwidth.py "
          f"{scale_path} {kernels_path}`.")


if __name__ == "__main__":
    main(*sys.argv[1:3])
