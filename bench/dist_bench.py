#!/usr/bin/env python3
"""Distributed training on one machine: per-iteration time and bytes sent per rank at 1, 2 and 4
ranks (one thread each: on 2 cores the ranks share cores, so time does not fall with ranks here;
the bytes are what carries over to a cluster), beside the bytes that docs/distributed.md's
formulas predict (implicit-als: from the data's degrees; biased-mf by DSGD: from the item count).
Ranks are started with RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set (a plain launch, as
torchrun does). 1 rank is the one-process fit.

    python3 bench/synthetic_csv.py --lines 10000000 --users 150000 --items 30000 --out /tmp/s10m.csv
    python3 bench/dist_bench.py --data /tmp/s10m.csv --ranks 1 2 4 --out bench/results/distributed_10m.json
    python3 bench/dist_bench.py --model biased-mf --data /tmp/s10m.csv --out bench/results/distributed_10m_dsgd.json
"""
import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[1]


def write_json(path, obj):
    """`obj` into `path`, whole or not at all."""
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(path + ".tmp", path)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, ranks):
    """Rank 0's JSON report of `cmd` run as `ranks` processes."""
    port = str(free_port())
    procs = []
    for r in range(ranks):
        env = dict(os.environ, OMP_NUM_THREADS="1")
        if ranks > 1:
            env.update(RANK=str(r), WORLD_SIZE=str(ranks), LOCAL_RANK=str(r), MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate() for p in procs]
    for p, (_, err) in zip(procs, outs):
        if p.returncode != 0:
            sys.exit(f"failed ({ranks} ranks): {' '.join(cmd)}\n{err[-2000:]}")
    return json.loads(outs[0][0])


def predicted_bytes(user_deg, item_deg, P, f, compute_loss):
    """Mean bytes one rank sends per iteration (docs/distributed.md, 'Volume')."""
    if P == 1:
        return 0.0
    q = 1.0 - 1.0 / P
    # A row of degree n is needed by each other rank whose block holds one of its n entries.
    rows = (P - 1) * ((1 - q ** item_deg).sum() + (1 - q ** user_deg).sum()) / P
    ring = 2.0 * (P - 1) / P  # a ring allreduce sends 2 (P-1)/P of the vector
    small = ring * (2 * 4 * f * f + 8 + (16 if compute_loss else 0))  # two Grams, NaN check, loss
    return 4.0 * f * rows + small


def dsgd_bytes(n_items, P, f):
    """Bytes one rank sends per DSGD epoch: every item block once (rows of factors, bias and two
    AdaGrad accumulators, padded to 16 floats), plus the loss (the block sizes are known: no counts
    travel)."""
    if P == 1:
        return 0.0
    stride = (f + 3 + 15) // 16 * 16
    return 4.0 * stride * n_items + 2.0 * (P - 1) / P * 8


def degrees(path):
    """Users' and items' counts of distinct (user, item) cells; integer ids are read as int64 in
    chunks (strings only when an id is not an integer), so 100M lines fit in memory."""
    try:
        us, its = [], []
        for c in pd.read_csv(path, header=None, usecols=[0, 1], dtype=np.int64, chunksize=10_000_000):
            us.append(c[0].to_numpy())
            its.append(c[1].to_numpy())
        u, i = np.concatenate(us), np.concatenate(its)
        del us, its
        width = int(i.max()) + 1
        cells = np.unique(u * width + i)
        del u, i
        u_deg = np.bincount(cells // width)
        i_deg = np.bincount(cells % width)
        return u_deg[u_deg > 0].astype(float), i_deg[i_deg > 0].astype(float)
    except ValueError:
        df = pd.read_csv(path, header=None, names=["u", "i", "v"], dtype={"u": str, "i": str}).drop_duplicates(["u", "i"])
        return df.groupby("u").size().to_numpy().astype(float), df.groupby("i").size().to_numpy().astype(float)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="user,item,value CSV")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--model", default="implicit-als", choices=["implicit-als", "biased-mf"])
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    user_deg, item_deg = degrees(a.data)
    length = "epochs" if a.model == "biased-mf" else "iterations"
    rows = []
    for P in a.ranks:
        cmd = [str(ROOT / "build/mfkit"), "train", "-m", a.model, "--data", a.data, "--format", "user,item,rating",
               "--split", "none", "--threads", "1", "--json", "-q", "--set", f"{length}={a.iterations}",
               "--set", f"factors={a.factors}"]
        if a.model == "implicit-als":  # the published volumes include the loss's allreduce
            cmd += ["--set", "compute_loss=true"]
        rep = run(cmd, P)
        row = {"ranks": P, "command": (f"{P} ranks of: " if P > 1 else "") + " ".join(cmd[0:1] + cmd[1:]),
               "nnz": rep.get("nnz", rep.get("n_train")), "load_seconds": rep["load_seconds"]}
        if P == 1:
            row["seconds_per_iteration"] = rep["train_seconds"] / rep["epochs"]
            row["bytes_per_rank_per_iteration"] = 0
        else:
            its = rep["iterations"][1:] or rep["iterations"]  # the first pays for first touches
            row["seconds_per_iteration"] = float(np.mean([it["seconds"] for it in its]))
            per_rank = np.mean([it["bytes_sent_per_rank"] for it in its], axis=0)
            row["bytes_per_rank_per_iteration"] = [int(b) for b in per_rank]
            row["bytes_mean_per_rank"] = float(per_rank.mean())
        if a.model == "biased-mf":
            row["bytes_predicted_per_rank"] = dsgd_bytes(len(item_deg), P, a.factors)
        else:
            row["bytes_predicted_per_rank"] = predicted_bytes(user_deg, item_deg, P, a.factors, True)
        if P > 1:
            row["measured_over_predicted"] = row["bytes_mean_per_rank"] / row["bytes_predicted_per_rank"]
        print(json.dumps(row), flush=True)
        rows.append(row)
    out = {"benchmark": f"distributed {a.model}, one thread per rank on one 2-core machine", "model": a.model,
           "command": " ".join(["python3", "bench/dist_bench.py"] + sys.argv[1:]), "factors": a.factors,
           "users": len(user_deg), "items": len(item_deg), "runs": rows}
    write_json(a.out, out)


if __name__ == "__main__":
    main()
