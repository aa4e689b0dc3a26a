#!/usr/bin/env python3
"""implicit-als against implicit's AlternatingLeastSquares on the very same matrix file.

Each run is a fresh process that reads the `user,item,count` file with pandas into one scipy CSR
matrix (duplicates summed, as implicit's users build it) and fits it with 2 threads, f factors,
`--iterations` iterations and no training loss, once with conjugate gradient (3 steps) and once
with Cholesky solves; mfkit gets implicit's keyword names (mfkit.ImplicitALS takes them), so both
weigh the counts the same way. Both run with OPENBLAS_NUM_THREADS=1, as implicit asks (it warns
otherwise; with Debian's pthread OpenBLAS its CG iteration here took 24-32 s instead of about 1 s
without it). With `--isas avx2 avx512` each of mfkit's kernel paths is measured (MFKIT_ISA), both
sides with OpenBLAS forced to the same instruction set (OPENBLAS_CORETYPE: bench/machine.py), so
that the avx2 rows are what an AVX2-only machine of this kind would run. Runs alternate implicit, mfkit, implicit, mfkit ... `--pairs`
times; reported: seconds per iteration (fit / iterations, medians) and mfkit / implicit.

implicit 0.7.x is built from its sources outside the project (nothing of it is committed) and
found through IMPLICIT_PATH:

    python3 bench/synthetic_csv.py --lines 10000000 --users 150000 --items 30000 --out /tmp/s10m.csv
    IMPLICIT_PATH=/path/to/implicit PYTHONPATH=build/python /usr/bin/python3 \\
        bench/implicit_als_same_file.py --data /tmp/s10m.csv --out bench/results/implicit_als_same_file.json
    python3 bench/implicit_als_same_file.py --table bench/results/implicit_als_same_file.json

implicit's compiled parts are built with its own CMake flags (no -march): its CG and Cholesky
steps call BLAS, which chooses its kernels at run time as mfkit does.
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
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp
    df = pd.read_csv(a.data, header=None, names=["u", "i", "v"], dtype={"u": np.int64, "i": np.int64, "v": np.float32})
    m = sp.csr_matrix((df.v.to_numpy(), (df.u.to_numpy(), df.i.to_numpy())), dtype=np.float32)
    m.sum_duplicates()
    del df
    kw = dict(factors=a.factors, iterations=a.iterations, regularization=0.01, use_cg=a.solver == "cg",
              calculate_training_loss=False, num_threads=2, random_state=1)
    if a.worker == "implicit":
        sys.path.insert(0, os.environ["IMPLICIT_PATH"])
        from implicit.cpu.als import AlternatingLeastSquares
        model = AlternatingLeastSquares(**kw)
    else:
        sys.path.insert(0, str(ROOT / "build" / "python"))
        import mfkit
        model = mfkit.ImplicitALS(**kw)
    t = time.perf_counter()
    model.fit(m, show_progress=False)
    print(json.dumps({"seconds_per_iteration": (time.perf_counter() - t) / a.iterations, "nnz": int(m.nnz),
                      "shape": list(m.shape)}))


def table(path):
    r = json.load(open(path))
    print(f"| solver, same file ({r['nnz']:,} interactions, {r['shape'][0]:,} x {r['shape'][1]:,}, f={r['factors']}) "
          "| implicit 0.7 | mfkit | mfkit / implicit |")
    print("|---|---:|---:|---:|")
    for s in r["results"]:
        path = f", {s['isa']} path" if "isa" in s else ""
        print(f"| {s['solver']}{path} | {s['implicit']:.3f} s | {s['mfkit']:.3f} s | {s['ratio']:.2f} |")
    print()
    pairs = f"medians of {r['pairs']} interleaved pairs" if r["pairs"] > 1 else "one pair"
    m = r.get("machine")
    where = (f" on {m['model']} (family {m['family']} model {m['model_number']}, {' '.join(m['vector_flags'])})"
             if isinstance(m, dict) else "")
    print(f"Seconds per iteration, {pairs} of fresh processes, 2 threads{where}; `{r['command']}`.")


def main():
    if sys.argv[1:2] == ["--table"]:
        return table(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--solvers", nargs="+", default=["cg", "cholesky"])
    ap.add_argument("--worker", choices=["implicit", "mfkit"])
    ap.add_argument("--solver", default="cg")
    ap.add_argument("--isas", nargs="+", default=[None],
                    help="mfkit's kernel paths to measure (baseline, avx2, avx512); default: the CPU's own")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.worker:
        return worker(a)
    if not os.environ.get("IMPLICIT_PATH"):
        sys.exit("set IMPLICIT_PATH to a built implicit 0.7 (see the docstring)")
    from machine import describe, isa_env, save
    results, info = [], {}
    for solver in a.solvers:
        for isa in a.isas:
            times = {"implicit": [], "mfkit": []}
            env = dict(isa_env(isa) if isa else os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="1")
            for _ in range(a.pairs):
                for who in ("implicit", "mfkit"):
                    cmd = [sys.executable, __file__, "--worker", who, "--solver", solver, "--data", a.data,
                           "--factors", str(a.factors), "--iterations", str(a.iterations)]
                    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
                    if out.returncode != 0:
                        sys.exit(f"{who} failed:\n{out.stderr[-2000:]}")
                    rep = json.loads(out.stdout.strip().splitlines()[-1])
                    info = rep
                    times[who].append(rep["seconds_per_iteration"])
                    print(solver, isa or "", who, rep["seconds_per_iteration"], flush=True)
            med = {w: statistics.median(t) for w, t in times.items()}
            results.append({"solver": solver, **({"isa": isa} if isa else {}), "implicit": med["implicit"],
                            "mfkit": med["mfkit"], "ratio": med["mfkit"] / med["implicit"], "runs": times})
            print(json.dumps(results[-1]), flush=True)
    out = {"benchmark": "implicit-als against implicit 0.7 on the same file", "factors": a.factors,
           "machine": describe(isas=[i for i in a.isas if i]),
           "iterations": a.iterations, "pairs": a.pairs, "nnz": info["nnz"], "shape": info["shape"],
           "command": " ".join(["IMPLICIT_PATH=... python3", "bench/implicit_als_same_file.py"] + sys.argv[1:]),
           "results": results}
    if a.out:
        save(a.out, out)


if __name__ == "__main__":
    main()
