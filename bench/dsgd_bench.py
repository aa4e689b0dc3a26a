#!/usr/bin/env python3
"""biased-mf by DSGD across ranks against the one-process fit, on the same held-out cells.

`--split hash:0.9` holds out the cells keyed by (user, item, seed), so every layout tests on the
same 10%. For each seed: the one-process fit (`mfkit train`, LIBMF's schedule), then 2 and 4
ranks (DSGD: P x P strata, item blocks passed round), one thread per rank, interleaved. The
ranks share this machine's 2 cores, so the seconds say what the exchange costs here, not what a
cluster gains; the RMSE is what carries over.

    python3 bench/dsgd_bench.py --data $MFKIT_DATA_DIR/ml-1m/derived/ratings_user_itemrank_rating.csv \
        --header --seeds 1 2 3 --out bench/results/dsgd_ml1m.json
"""
import argparse
import json
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from dist_bench import ROOT, run, write_json  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="user,item,rating CSV")
    ap.add_argument("--header", action="store_true", help="the file has a header line")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rows = []
    for seed in a.seeds:
        for P in a.ranks:
            cmd = [str(ROOT / "build/mfkit"), "train", "-m", "biased-mf", "--data", a.data, "--format",
                   "user,item,rating", "--sep", ",", "--split", "hash:0.9", "--seed", str(seed), "--threads", "1",
                   "--json", "-q"] + (["--header"] if a.header else [])
            rep = run(cmd, P)
            row = {"ranks": P, "seed": seed, "command": (f"{P} ranks of: " if P > 1 else "") + " ".join(cmd),
                   "test_rmse": rep["test"]["rmse"], "n_test": rep["test"]["n"], "train_seconds": rep["train_seconds"],
                   "epochs": rep["epochs"]}
            print(json.dumps(row), flush=True)
            rows.append(row)
    summary = []
    for P in a.ranks:
        mine = [r for r in rows if r["ranks"] == P]
        one = [r for r in rows if r["ranks"] == 1]
        d = [m["test_rmse"] - o["test_rmse"] for m, o in zip(mine, one)]
        summary.append({"ranks": P, "test_rmse_mean": float(np.mean([r["test_rmse"] for r in mine])),
                        "test_rmse_sd": float(np.std([r["test_rmse"] for r in mine], ddof=1)) if len(mine) > 1 else 0.0,
                        "minus_one_process_max_abs": float(np.max(np.abs(d))) if P != 1 else 0.0,
                        "train_seconds_mean": float(np.mean([r["train_seconds"] for r in mine]))})
        print(json.dumps(summary[-1]), flush=True)
    out = {"benchmark": "biased-mf: one process (LIBMF schedule) against DSGD on 2 and 4 ranks, same held-out cells",
           "command": " ".join(["python3", "bench/dsgd_bench.py"] + sys.argv[1:]), "runs": rows, "summary": summary}
    write_json(a.out, out)


if __name__ == "__main__":
    main()
