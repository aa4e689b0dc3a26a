#!/usr/bin/env python3
"""mfkit's bpr against implicit's BayesianPersonalizedRanking, side by side in one run.

    IMPLICIT_PATH=/path/to/built/implicit PYTHONPATH=build/python MFKIT_DATA_DIR=../shared/data \\
        /usr/bin/python3 bench/bpr_speed.py [--pairs 5] [--epochs 10] [--out bench/results/bpr_speed.json]
    python3 bench/bpr_speed.py --table bench/results/bpr_speed.json     # the markdown table

implicit 0.7.x is built from its sources outside this project (its .pyx files compiled with
Debian's cython3; nothing of it is committed) and found through IMPLICIT_PATH. For each dataset
(last.fm-2k, and ML-1M read as implicit) both libraries fit the same scipy CSR matrix (users x
items, ones) with 128 factors plus an item bias, 2 threads, verified negatives, `--epochs`
epochs, interleaved A B A B `--pairs` times; reported: seconds per epoch (median) and the ratio
mfkit / implicit of the medians. mfkit runs twice: as shipped (AdaGrad steps) and with plain SGD
steps as implicit's (adaptive=False).
"""

import argparse
import json
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "build" / "python"))
if os.environ.get("IMPLICIT_PATH"):
    sys.path.insert(0, os.environ["IMPLICIT_PATH"])


def matrix(name):
    d = mfkit.datasets.load(name, binarize=True)
    m = sp.csr_matrix(d.to_csr(), dtype=np.float32)
    m.data[:] = 1
    return m


def table(path):
    res = json.load(open(path))
    print(f"Command: `{res['command']}` ({res['machine']}, {res['threads']} threads, {res['epochs']} epochs; "
          "seconds per epoch are whole fits divided by the epochs, medians of interleaved runs)\n")
    print(f"| dataset | {res['peer']} | mfkit (AdaGrad, the default) | mfkit (`adaptive=False`, plain SGD as implicit) |")
    print("|---|---|---|---|")
    for r in res["results"]:
        t = r["seconds_per_epoch"]
        print(f"| {r['dataset']} ({r['nnz']:,} interactions) | {t['implicit'] * 1000:.1f} ms | {t['mfkit'] * 1000:.1f} ms "
              f"({r['mfkit_over_implicit']:.2f}x) | {t['mfkit_sgd'] * 1000:.1f} ms ({r['mfkit_sgd_over_implicit']:.2f}x) |")


def main():
    if sys.argv[1:2] == ["--table"]:
        return table(sys.argv[2])
    global np, sp, mfkit
    import numpy as np
    import scipy.sparse as sp

    import mfkit
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--datasets", default="lastfm-2k,ml-1m")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "bpr_speed.json"))
    a = ap.parse_args()
    from implicit.cpu.bpr import BayesianPersonalizedRanking
    import implicit

    def run_implicit(m):
        model = BayesianPersonalizedRanking(factors=128, learning_rate=0.01, regularization=0.01, iterations=a.epochs,
                                            verify_negative_samples=True, num_threads=a.threads, random_state=1)
        t = time.perf_counter()
        model.fit(m, show_progress=False)
        return time.perf_counter() - t

    def run_mfkit(m, adaptive):
        model = mfkit.BPR(factors=128, epochs=a.epochs, verify_negatives=True, adaptive=adaptive,
                          num_threads=a.threads, random_state=1)
        t = time.perf_counter()
        model.fit(m, show_progress=False)
        return time.perf_counter() - t

    env = "OPENBLAS_NUM_THREADS=1 " if os.environ.get("OPENBLAS_NUM_THREADS") == "1" else ""
    out = {"command": env + "IMPLICIT_PATH=... PYTHONPATH=build/python /usr/bin/python3 bench/bpr_speed.py " + " ".join(sys.argv[1:]),
           "machine": f"{os.cpu_count()} cores", "peer": f"implicit {getattr(implicit, '__version__', '?')}",
           "epochs": a.epochs, "threads": a.threads, "results": []}
    for name in a.datasets.split(","):
        m = matrix(name)
        times = {"implicit": [], "mfkit": [], "mfkit_sgd": []}
        run_mfkit(m, True)  # warm-up (page cache, thread pools)
        run_implicit(m)
        for _ in range(a.pairs):
            times["mfkit"].append(run_mfkit(m, True))
            times["implicit"].append(run_implicit(m))
            times["mfkit_sgd"].append(run_mfkit(m, False))
        med = {k: statistics.median(v) for k, v in times.items()}
        row = {"dataset": name, "users": m.shape[0], "items": m.shape[1], "nnz": int(m.nnz),
               "seconds_per_epoch": {k: v / a.epochs for k, v in med.items()},
               "mfkit_over_implicit": med["mfkit"] / med["implicit"],
               "mfkit_sgd_over_implicit": med["mfkit_sgd"] / med["implicit"], "runs": times}
        out["results"].append(row)
        print(json.dumps({k: row[k] for k in ("dataset", "seconds_per_epoch", "mfkit_over_implicit",
                                              "mfkit_sgd_over_implicit")}), flush=True)
    tmp = pathlib.Path(a.out + ".tmp")
    tmp.write_text(json.dumps(out, indent=2) + "\n")
    tmp.replace(a.out)


if __name__ == "__main__":
    main()
