#!/usr/bin/env python3
"""Top-10 for every ML-1M user from Python: mfkit against implicit 0.7, in one process, interleaved.

    IMPLICIT_PATH=/path/to/implicit PYTHONPATH=build/python MFKIT_DATA_DIR=../shared/data \\
        /usr/bin/python3 bench/topn_implicit.py --isas avx2 avx512 --out bench/results/topn_implicit.json
    python3 bench/topn_implicit.py --table bench/results/topn_implicit.json

For each of mfkit's kernel paths (MFKIT_ISA; OpenBLAS forced to the same instruction set for both,
bench/machine.py) one fresh process fits an implicit-ALS model (64 factors, 3 iterations) with
each library on ML-1M read as implicit counts, then times `model.recommend(all users, their
rows, N=10)` with the seen items filtered and without, the two libraries alternating, `--rounds`
times each; reported: users per second (medians) and mfkit / implicit. Both use 2 threads.
implicit 0.7 is built from its sources outside the project (nothing of it is committed).
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def worker(a):
    sys.path.insert(0, str(ROOT / "build" / "python"))
    sys.path.insert(0, os.environ["IMPLICIT_PATH"])
    import numpy as np
    import mfkit
    from implicit.cpu.als import AlternatingLeastSquares

    m = mfkit.datasets.load("ml-1m").to_csr().astype(np.float32).tocsr()
    kw = dict(factors=64, iterations=3, regularization=0.01, num_threads=a.threads, random_state=1)
    models = {"implicit": AlternatingLeastSquares(calculate_training_loss=False, **kw), "mfkit": mfkit.ImplicitALS(**kw)}
    for model in models.values():
        model.fit(m, show_progress=False)
    users = np.arange(m.shape[0])
    out = {"isa": mfkit.__config__["kernels"], "users": int(m.shape[0]), "items": int(m.shape[1]), "nnz": int(m.nnz)}
    for filtered in (True, False):
        rates = {who: [] for who in models}
        for rnd in range(a.rounds):
            for who in (list(models) if rnd % 2 == 0 else list(models)[::-1]):
                t = time.perf_counter()
                ids, _ = models[who].recommend(users, m, N=10, filter_already_liked_items=filtered)
                rates[who].append(len(users) / (time.perf_counter() - t))
                assert ids.shape == (len(users), 10)
        out["filtered" if filtered else "unfiltered"] = {
            "users_per_second": {w: statistics.median(r) for w, r in rates.items()}, "rounds": rates,
            "ratio": statistics.median(rates["mfkit"]) / statistics.median(rates["implicit"])}
    print(json.dumps(out))


def table(path):
    r = json.load(open(path))
    m = r["machine"]
    print("| path | top-10 for every ML-1M user | implicit 0.7 | mfkit | mfkit / implicit |")
    print("|---|---|---:|---:|---:|")
    for row in r["rows"]:
        for kind in ("filtered", "unfiltered"):
            x = row[kind]
            print(f"| {row['isa']} | {'seen items filtered' if kind == 'filtered' else 'no filter'} "
                  f"| {x['users_per_second']['implicit']:,.0f} users/s | {x['users_per_second']['mfkit']:,.0f} users/s "
                  f"| {x['ratio']:.1f}x |")
    print(f"\nMedians of {r['rounds']} interleaved calls in one process per path, {r['threads']} threads, on "
          f"{m['model']} (family {m['family']} model {m['model_number']}, {' '.join(m['vector_flags'])}); "
          f"`{r['command']}`.")


def main():
    if sys.argv[1:2] == ["--table"]:
        return table(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--isas", nargs="+", default=[None], help="mfkit's kernel paths (default: the CPU's own)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.worker:
        return worker(a)
    if not os.environ.get("IMPLICIT_PATH"):
        sys.exit("set IMPLICIT_PATH to a built implicit 0.7 (see the docstring)")
    from machine import describe, isa_env, save
    rows = []
    for isa in a.isas:
        env = dict(isa_env(isa) if isa else os.environ, OPENBLAS_NUM_THREADS="1")
        cmd = [sys.executable, __file__, "--worker", "--rounds", str(a.rounds), "--threads", str(a.threads)]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if out.returncode != 0:
            sys.exit(f"worker failed:\n{out.stderr[-3000:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps({k: rows[-1][k] for k in ("isa", "filtered", "unfiltered")}), flush=True)
    res = {"benchmark": "top-10 for every ML-1M user, mfkit against implicit 0.7 from Python",
           "command": " ".join(["IMPLICIT_PATH=... python3", "bench/topn_implicit.py"] + sys.argv[1:]),
           "machine": describe(isas=[i for i in a.isas if i]), "rounds": a.rounds, "threads": a.threads, "rows": rows}
    if a.out:
        save(a.out, res)


if __name__ == "__main__":
    main()
