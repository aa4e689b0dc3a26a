#!/usr/bin/env python3
"""Writes a synthetic implicit-feedback file `user,item,count` for the scale benchmarks.

Items follow a power law (weight 1/(rank+1)^0.8, ids shuffled so popularity is not id order),
user activity is exponential, counts are 1-5; lines come in random order, as a log would.
Example: bench/synthetic_csv.py --lines 10000000 --users 150000 --items 30000 --out /tmp/s10m.csv
"""
import argparse

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, required=True)
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--items", type=int, required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    w = 1.0 / np.power(np.arange(1, a.items + 1), 0.8)
    cdf = np.cumsum(w) / w.sum()
    item_id = rng.permutation(a.items)
    activity = rng.exponential(1.0, a.users)
    ucdf = np.cumsum(activity) / activity.sum()
    tmp = a.out + ".tmp"
    chunk = 5_000_000
    with open(tmp, "w") as f:
        left = a.lines
        while left > 0:
            n = min(chunk, left)
            u = np.minimum(np.searchsorted(ucdf, rng.random(n)), a.users - 1)
            i = item_id[np.minimum(np.searchsorted(cdf, rng.random(n)), a.items - 1)]
            c = rng.integers(1, 6, n)
            np.savetxt(f, np.stack([u, i, c], axis=1), fmt="%d", delimiter=",")
            left -= n
    import os
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
