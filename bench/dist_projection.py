#!/usr/bin/env python3
"""Projects distributed implicit-als to 1 billion interactions and 100 million users on 16 and 64
nodes at 10 and 25 Gb/s, with the cost model bench/netsim_bench.py checks between simulated hosts
(docs/distributed.md prints the table):

    time = compute + bytes / rate + steps x delay

The compute rate is the measured one-process rate (ratings per second per core, one thread, from a
bench/dist_bench.py run), assumed to scale with cores; the bytes are docs/distributed.md's volume
formula evaluated on degrees drawn like the benchmark's data (exponential user activity, power-law
items with exponent 0.8), plus TCP/IP headers at a 1500-byte MTU; the steps are the collectives an
implicit-als iteration runs (counted in the netsim run), each at Gloo's ring bound of 2(P-1) steps
for an allreduce (what the simulated hosts measured for Gram matrices; an upper bound for the small
ones) and 1 for an all-to-all, at a one-way delay of 50 microseconds (a data-centre network).
Memory per node counts every rating twice (user and item blocks: column index + value, 8 bytes)
plus the factor rows a node owns and fetches.

    python3 bench/dist_projection.py bench/results/distributed_100m.json bench/results/netsim.json
"""
import json
import sys

import numpy as np

RATINGS, USERS, ITEMS = 1e9, 1e8, 1e6
CORES_PER_NODE, LINKS, ONE_WAY_DELAY, OVERHEAD = 16, (10e9, 25e9), 50e-6, 1500 / (1500 - 52)


def degrees(n, total, rng, power=None):
    """n degrees summing to about `total`: power-law weights when `power`, else exponential."""
    w = 1.0 / np.power(np.arange(1, n + 1), power) if power else rng.exponential(1.0, n)
    return total * w / w.sum()


def main():
    d = json.load(open(sys.argv[1]))
    net = json.load(open(sys.argv[2]))
    one = next(r for r in d["runs"] if r["ranks"] == 1)
    rate = one["nnz"] / one["seconds_per_iteration"]  # ratings per second, one thread
    f = d["factors"]
    calls = next(r["collectives"] for r in net["rows"] if r["model"] == "implicit-als" and "collectives" in r)
    rng = np.random.default_rng(0)
    # Degrees as expected values (not rounded): the formula's 1 - (1-1/P)^n is smooth in n.
    users = degrees(int(USERS), RATINGS, rng)
    items = degrees(int(ITEMS), RATINGS, rng, power=0.8)
    print("| nodes (16 cores) | link | compute s / iteration | MB sent / node / iteration | bytes / rate s "
          "| steps x delay s | projected s / iteration | GB per node |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for P in (16, 64):
        q = 1.0 - 1.0 / P
        rows = (P - 1) * ((1 - q ** items).sum() + (1 - q ** users).sum()) / P
        sent = 4.0 * f * rows + 2 * 2.0 * (P - 1) / P * 4 * f * f
        compute = RATINGS / (P * CORES_PER_NODE * rate)
        steps = (calls["allreduce"] + calls["allreduce_small"]) * 2 * (P - 1) + calls["alltoall"]
        latency = steps * ONE_WAY_DELAY
        memory = (2 * 8 * RATINGS / P + 4 * f * (USERS + ITEMS) / P + sent * P / (P - 1)) / 1e9
        for link in LINKS:
            network = sent * OVERHEAD * 8 / link
            print(f"| {P} | {link / 1e9:.0f} Gb/s | {compute:.1f} | {sent / 1e6:,.0f} | {network:.1f} | {latency:.3f} "
                  f"| {compute + network + latency:.1f} | {memory:.1f} |")
    print()
    print(f"1 billion interactions, 100 million users, 1 million items, f = {f}; measured rate "
          f"{rate / 1e6:.2f} M ratings/s per core (one thread, `{d['command']}`, {one['nnz']:,} ratings); "
          f"{calls['allreduce'] + calls['allreduce_small']} allreduces and "
          f"{calls['alltoall']} all-to-alls per iteration (`{net['command']}`), {ONE_WAY_DELAY * 1e6:.0f} µs one way. "
          "Compute, transfer and latency are added, not overlapped (an upper bound).")


if __name__ == "__main__":
    main()
