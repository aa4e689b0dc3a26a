#!/usr/bin/env python3
"""Prints the README's markdown results tables from the benchmark JSON files.

    python3 bench/table.py bench/results/rmse.json bench/results/kernels.json
"""
import json
import sys


def rmse_table(path):
    r = json.load(open(path))
    print(f"Command: `{r['command']}` ({r['machine']['cpu']}, {r['machine']['cores']} cores)\n")
    print("| dataset | model | test RMSE (mean ± sd) | MAE | train s | ratings/s |")
    print("|---|---|---|---|---|---|")
    for x in r["results"]:
        name = x["model"] + (f" --preset {x['preset']}" if x["preset"] else "")
        print(f"| {x['dataset']} | {name} | {x['rmse_mean']:.4f} ± {x['rmse_sd']:.4f} | {x['mae_mean']:.4f} "
              f"| {x['train_seconds_mean']:.2f} | {x['ratings_per_second'] / 1e6:.1f} M |")


def kernel_table(path):
    r = json.load(open(path))
    print("| kernel (ML-1M train part, 900,188 ratings) | factors | threads | time | ratings/s |")
    print("|---|---|---|---|---|")
    for b in r["benchmarks"]:
        name, k, t = b["name"].split("/")[:3]
        print(f"| {name} | {k} | {t} | {b['real_time']:.1f} ms | {b['items_per_second'] / 1e6:.1f} M |")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        (kernel_table if "benchmarks" in json.load(open(p)) else rmse_table)(p)
        print()
