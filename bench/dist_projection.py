#!/usr/bin/env python3
"""Projects distributed implicit-als to 1 billion interactions and 100 million users on 16 and 64
nodes at 10 Gb/s, from a measured bench/dist_bench.py run (docs/distributed.md prints the table).

The compute rate is the measured one-process rate (ratings per second per core, one thread),
assumed to scale with cores; the exchange is docs/distributed.md's volume formula evaluated on
degrees drawn like the benchmark's data (exponential user activity, power-law items with exponent
0.8), sent at the link's rate; the Gram allreduce (f^2 floats) is left out as negligible. Memory
per node counts every rating twice (user and item blocks: column index + value, 8 bytes) plus the
factor rows a node owns and fetches.

    python3 bench/dist_projection.py bench/results/distributed_100m.json
"""
import json
import sys

import numpy as np

RATINGS, USERS, ITEMS = 1e9, 1e8, 1e6
CORES_PER_NODE, LINK_BYTES_PER_S = 16, 10e9 / 8


def degrees(n, total, rng, power=None):
    """n degrees summing to about `total`: power-law weights when `power`, else exponential."""
    w = 1.0 / np.power(np.arange(1, n + 1), power) if power else rng.exponential(1.0, n)
    return total * w / w.sum()


def main():
    d = json.load(open(sys.argv[1]))
    one = next(r for r in d["runs"] if r["ranks"] == 1)
    rate = one["nnz"] / one["seconds_per_iteration"]  # ratings per second, one thread
    f = d["factors"]
    rng = np.random.default_rng(0)
    # Degrees as expected values (not rounded): the formula's 1 - (1-1/P)^n is smooth in n.
    users = degrees(int(USERS), RATINGS, rng)
    items = degrees(int(ITEMS), RATINGS, rng, power=0.8)
    print("| nodes (16 cores, 10 Gb/s) | compute s / iteration | MB sent / node / iteration | network s / iteration "
          "| projected s / iteration | GB per node |")
    print("|---:|---:|---:|---:|---:|---:|")
    for P in (16, 64):
        q = 1.0 - 1.0 / P
        rows = (P - 1) * ((1 - q ** items).sum() + (1 - q ** users).sum()) / P
        sent = 4.0 * f * rows
        compute = RATINGS / (P * CORES_PER_NODE * rate)
        network = sent / LINK_BYTES_PER_S
        memory = (2 * 8 * RATINGS / P + 4 * f * (USERS + ITEMS) / P + sent * P / (P - 1)) / 1e9
        print(f"| {P} | {compute:.1f} | {sent / 1e6:,.0f} | {network:.1f} | {compute + network:.1f} | {memory:.1f} |")
    print()
    print(f"1 billion interactions, 100 million users, 1 million items, f = {f}; measured rate "
          f"{rate / 1e6:.2f} M ratings/s per core (one thread, `{d['command']}`, {one['nnz']:,} ratings). "
          "Compute and network are added, not overlapped (an upper bound).")


if __name__ == "__main__":
    main()
