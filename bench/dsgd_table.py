#!/usr/bin/env python3
"""Markdown table of bench/dsgd_bench.py's JSON (docs/distributed.md): python3 bench/dsgd_table.py FILE"""
import json
import sys


def main():
    d = json.load(open(sys.argv[1]))
    seeds = sorted({r["seed"] for r in d["runs"]})
    print("| layout | test RMSE (mean ± sd) | largest difference from one process, same seed | train s |")
    print("|---|---:|---:|---:|")
    for s in d["summary"]:
        name = "one process (LIBMF schedule)" if s["ranks"] == 1 else f"DSGD, {s['ranks']} ranks"
        diff = "-" if s["ranks"] == 1 else f"{s['minus_one_process_max_abs']:.4f}"
        print(f"| {name} | {s['test_rmse_mean']:.4f} ± {s['test_rmse_sd']:.4f} | {diff} | {s['train_seconds_mean']:.2f} |")
    print()
    print(f"Seeds {', '.join(map(str, seeds))}; `{d['command']}`. Ranks share the machine's 2 cores, one thread each.")


if __name__ == "__main__":
    main()
