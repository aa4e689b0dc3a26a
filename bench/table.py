#!/usr/bin/env python3
"""Prints the README's markdown results tables from the benchmark JSON files.

    python3 bench/table.py bench/results/rmse.json bench/results/kernels.json
"""
import json
import sys


METRICS = {"rmse": "test RMSE", "mae": "MAE", "mean_user_percentile_rank": "expected percentile rank (mean over users)",
           "hit_rate": "HR@k", "ndcg": "NDCG@k", "auc": "AUC"}


def accuracy_table(path):
    r = json.load(open(path))
    print(f"Command: `{r['command']}` ({r['machine']['cpu']}, {r['machine']['cores']} cores)\n")
    present = [m for m in METRICS if any(m + "_mean" in x for x in r["results"])]
    print("| dataset | model | " + " | ".join(METRICS[m] + " (mean ± sd)" for m in present) + " | train s |")
    print("|---|---|" + "---|" * len(present) + "---|")
    for x in r["results"]:
        name = x["model"] + (f" --preset {x['preset']}" if x["preset"] else "")
        p = x.get("params", {})
        if "architecture" in p:
            name += f" (architecture {p['architecture']})"
        cells = [f"{x[m + '_mean']:.4f} ± {x[m + '_sd']:.4f}" if m + "_mean" in x else "" for m in present]
        print(f"| {x['dataset']} | {name} | " + " | ".join(cells) + f" | {x['train_seconds_mean']:.2f} |")


def kernel_table(path):
    r = json.load(open(path))
    print("| benchmark | args | time | rate |")
    print("|---|---|---|---|")
    for b in r["benchmarks"]:
        parts = b["name"].split("/")
        args = "/".join(a for a in parts[1:] if not a.startswith(("real_time", "iterations")))
        if "items_per_second" in b:
            rate = f"{b['items_per_second'] / 1e6:.1f} M entries/s"
        elif "GFLOP/s" in b:
            rate = f"{b['GFLOP/s']:.1f} GFLOP/s"
        else:
            rate = f"{b['users/s'] / 1e3:.1f} k users/s"
        print(f"| {parts[0]} | {args} | {b['real_time']:.1f} {b['time_unit']} | {rate} |")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        (kernel_table if "benchmarks" in json.load(open(p)) else accuracy_table)(p)
        print()
