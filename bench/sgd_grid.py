#!/usr/bin/env python3
"""biased-mf's FPSG grid: LIBMF's square grid (20 x 20 at 2 threads) against 5 item bands.

An epoch fetches each user's row once per item band the user has ratings in, so on large data
fewer item bands move less memory. This measures what that costs and gains, for the default of
`item_blocks` (square while the users' rows take at most 128 MiB, 5 item bands past that):

- speed: `mfkit train -m biased-mf --split none` on each --speed file, 64 factors, 3 epochs,
  whole processes alternating square, narrow, square, narrow ... (--pairs pairs); the median
  epoch of each process, then the median over pairs and the median of the per-pair ratios;
- accuracy: held-out RMSE at the default parameters, seeds 1..--seeds, square and narrow on
  the same split, for each --accuracy dataset (NAME:SPLIT, a dataset name or a
  `user,item,count` file; files are read with `--duplicates sum`, or --duplicates).

    MFKIT_DATA_DIR=../shared/data /usr/bin/python3 bench/sgd_grid.py --speed /tmp/mfkit-scale/synthetic_30000000.csv \\
        /tmp/mfkit-scale/synthetic_100000000.csv --accuracy ml-100k:random:0.9 ... \\
        --out bench/results/sgd_grid.json
    python3 bench/sgd_grid.py --table bench/results/sgd_grid.json
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
GRIDS = {"square": "20", "narrow": "5"}


def train(data, extra, duplicates):
    cmd = [str(ROOT / "build" / "mfkit"), "train", "-m", "biased-mf", "--data", data, "--json", "-q",
           "--threads", "2", *extra]
    if os.path.exists(data):
        cmd += ["--format", "user,item,rating", "--sep", ",", "--duplicates", duplicates]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)


def speed(data, pairs, duplicates):
    runs = {g: [] for g in GRIDS}
    for _ in range(pairs):
        for g, bands in GRIDS.items():
            r = train(data, ["--split", "none", "--set", "epochs=3", "--set", "factors=64", "--set", "blocks=20",
                             "--set", f"item_blocks={bands}"], duplicates)
            runs[g].append(statistics.median(r["epoch_seconds"]))
            print(data, g, runs[g][-1], flush=True)
    ratios = [n / s for s, n in zip(runs["square"], runs["narrow"])]
    return {"data": data, "n_users": r["n_users"], "n_train": r["n_train"], "runs": runs,
            "square": statistics.median(runs["square"]), "narrow": statistics.median(runs["narrow"]),
            "ratio": statistics.median(ratios)}


def accuracy(spec, seeds, duplicates):
    data, split = spec.split(":", 1)
    rmse = {g: [] for g in GRIDS}
    for seed in range(1, seeds + 1):
        for g, bands in GRIDS.items():
            r = train(data, ["--split", split, "--seed", str(seed), "--set", "blocks=20", "--set", f"item_blocks={bands}"],
                      duplicates)
            rmse[g].append(r["test"]["rmse"])
        print(spec, seed, rmse["square"][-1], rmse["narrow"][-1], flush=True)
    return {"data": data, "split": split, "n_train": r["n_train"], "rmse": rmse,
            "square": statistics.mean(rmse["square"]), "narrow": statistics.mean(rmse["narrow"])}


def table(path):
    r = json.load(open(path))
    if r["speed"]:
        print("| file | users | ratings | 20 x 20 s/epoch | 20 x 5 s/epoch | ratio |")
        print("|---|---:|---:|---:|---:|---:|")
        for s in r["speed"]:
            print(f"| {pathlib.Path(s['data']).name} | {s['n_users']:,} | {s['n_train']:,} | {s['square']:.3f} | "
                  f"{s['narrow']:.3f} | {s['ratio']:.2f} |")
        print()
        print(f"biased-mf, 64 factors, 2 threads; the median epoch of 3 in each process, medians of {r['pairs']} "
              "alternating pairs of processes (ratio: the median of the pairs' ratios).")
        print()
    if r["accuracy"]:
        print("| data | split | ratings trained | held-out RMSE 20 x 20 | 20 x 5 |")
        print("|---|---|---:|---:|---:|")
        for a in r["accuracy"]:
            print(f"| {pathlib.Path(a['data']).name} | {a['split']} | {a['n_train']:,} | {a['square']:.4f} | "
                  f"{a['narrow']:.4f} |")
        print()
        print(f"Default parameters (128 factors, 20 epochs), means over seeds 1-{r['seeds']} (each seed's split the "
              "same for both grids; every figure in the JSON).")
        print()
    print(f"`{r['command']}`")


def main():
    if sys.argv[1:2] == ["--table"]:
        return table(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--speed", nargs="*", default=[])
    ap.add_argument("--accuracy", nargs="*", default=[])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--duplicates", default="sum", help="how files' repeated pairs are read (sum, last)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    out = {"benchmark": "biased-mf FPSG grid: 20 x 20 against 20 x 5", "pairs": a.pairs, "seeds": a.seeds,
           "command": " ".join([f"MFKIT_DATA_DIR={os.environ.get('MFKIT_DATA_DIR', '')}", "/usr/bin/python3",
                                "bench/sgd_grid.py"] + sys.argv[1:]),
           "speed": [speed(d, a.pairs, a.duplicates) for d in a.speed],
           "accuracy": [accuracy(s, a.seeds, a.duplicates) for s in a.accuracy]}
    with open(a.out + ".tmp", "w") as f:
        json.dump(out, f, indent=1)
    os.replace(a.out + ".tmp", a.out)


if __name__ == "__main__":
    main()
