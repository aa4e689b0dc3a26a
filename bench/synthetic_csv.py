#!/usr/bin/env python3
"""Writes a synthetic implicit-feedback file `user,item,count` for the scale benchmarks.

Items follow a power law (weight 1/(rank+1)^0.8, ids shuffled so popularity is not id order),
user activity is exponential, counts are 1-5 at random; lines come in random order, as a log would.
With --rank K the third column is a rating 1-5 that a rank-K model explains (3 + user . item
+ noise of std 0.5, rounded and clipped) instead, for accuracy checks on large matrices; the
noise is a function of the (user, item) pair, so a pair drawn twice has one rating (read such a
file with --duplicates last).
Example: bench/synthetic_csv.py --lines 10000000 --users 150000 --items 30000 --out /tmp/s10m.csv
"""
import argparse

import numpy as np


def pair_normal(key):
    """A standard normal draw per key (splitmix64, then Box-Muller): equal keys, equal draws."""
    with np.errstate(over="ignore"):
        z = key + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    u1 = ((z >> np.uint64(40)).astype(np.float64) + 0.5) / 2.0**24
    u2 = ((z & np.uint64(0xFFFFFF)).astype(np.float64) + 0.5) / 2.0**24
    return np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, required=True)
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--items", type=int, required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--rank", type=int, default=0, help="ratings from a rank-K model instead of random counts")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    w = 1.0 / np.power(np.arange(1, a.items + 1), 0.8)
    cdf = np.cumsum(w) / w.sum()
    item_id = rng.permutation(a.items)
    activity = rng.exponential(1.0, a.users)
    ucdf = np.cumsum(activity) / activity.sum()
    if a.rank:
        U = rng.normal(0, 1, (a.users, a.rank)).astype(np.float32)
        V = rng.normal(0, 1 / np.sqrt(a.rank), (a.items, a.rank)).astype(np.float32)
    tmp = a.out + ".tmp"
    chunk = 5_000_000
    with open(tmp, "w") as f:
        left = a.lines
        while left > 0:
            n = min(chunk, left)
            u = np.minimum(np.searchsorted(ucdf, rng.random(n)), a.users - 1)
            i = item_id[np.minimum(np.searchsorted(cdf, rng.random(n)), a.items - 1)]
            if a.rank:
                noise = 0.5 * pair_normal(u.astype(np.uint64) * np.uint64(a.items) + i.astype(np.uint64))
                c = np.clip(np.rint(3 + np.einsum("ij,ij->i", U[u], V[i]) + noise), 1, 5).astype(int)
            else:
                c = rng.integers(1, 6, n)
            np.savetxt(f, np.stack([u, i, c], axis=1), fmt="%d", delimiter=",")
            left -= n
    import os
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
