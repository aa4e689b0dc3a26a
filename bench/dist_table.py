#!/usr/bin/env python3
"""Markdown table of bench/dist_bench.py's JSON (docs/distributed.md): python3 bench/dist_table.py FILE..."""
import json
import sys


def main():
    print("| model | data | ratings | ranks | s / iteration | MB sent / rank / iteration | predicted MB | measured / predicted |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for path in sys.argv[1:]:
        d = json.load(open(path))
        name = f"{d['users']:,} users x {d['items']:,} items, f={d['factors']}"
        for r in d["runs"]:
            measured = r.get("bytes_mean_per_rank", 0) / 1e6
            ratio = f"{r['measured_over_predicted']:.3f}" if "measured_over_predicted" in r else "-"
            print(f"| {d.get('model', 'implicit-als')} | {name} | {r['nnz']:,} | {r['ranks']} | {r['seconds_per_iteration']:.2f} | {measured:.1f} | "
                  f"{r['bytes_predicted_per_rank'] / 1e6:.1f} | {ratio} |")
    print()
    print("Commands: " + "; ".join(f"`{json.load(open(p))['command']}`" for p in sys.argv[1:]) +
          ". One thread per rank, all ranks on one 2-core machine.")


if __name__ == "__main__":
    main()
