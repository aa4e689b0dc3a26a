#!/usr/bin/env python3
"""Overhead of the Python package against the C++ path, measured side by side in one run.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_bench.py [--pairs 5] [--out bench/results/python.json]

1. implicit-als fit on ML-1M (random 90/10 training part, seed 1, 2 threads, default params):
   `mfkit train --json`'s train_seconds (the C++ fit) against `model.fit(csr)` timed in Python
   (which includes building the library's matrices from scipy's), interleaved A B A B; the
   ratio of medians is reported.
2. recommend for every ML-1M user in one call (N=10, seen items filtered from the caller's
   user_items), 2 threads: users per second, against the C++ microbenchmark of the same call
   (build/bench/mfkit_bench_kernels BM_RecommendAllUsers), interleaved.
3. implicit-als fit (f=64, 3 CG iterations) on a synthetic 10M-cell matrix like the C++
   bench's (138k users x 27k items, power-law items; drawn here with numpy): `model.fit(csr)`
   from scipy against the library's fit of the same matrix already in its own layout (what a
   C++ caller times after loading), interleaved A B B A. The difference is what Python adds: argument
   checks and building the library's two CSR layouts from scipy's (reported apart).
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
sys.path.insert(0, str(ROOT / "build" / "python"))

import numpy as np  # noqa: E402

import mfkit  # noqa: E402
from mfkit import _core  # noqa: E402
from mfkit._arrays import as_csr, csr_parts  # noqa: E402


def synthetic_10m(users=138000, items=27000, draws=10800000, seed=42):
    """Power-law item popularity (exponent 0.8), exponential user activity, counts 1..5."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    cdf = np.cumsum(1.0 / np.arange(1, items + 1) ** 0.8)
    cdf /= cdf[-1]
    per_user = np.maximum(1, np.rint(draws / users * rng.exponential(1.0, users))).astype(np.int64)
    rows = np.repeat(np.arange(users, dtype=np.int32), per_user)
    cols = np.minimum(np.searchsorted(cdf, rng.random(rows.size)), items - 1).astype(np.int32)
    vals = (1 + rng.integers(0, 5, rows.size)).astype(np.float32)
    m = sp.csr_matrix((vals, (rows, cols)), shape=(users, items))
    m.sum_duplicates()
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--data", default="ml-1m")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "python.json"))
    a = ap.parse_args()
    cli = str(ROOT / "build" / "mfkit")
    data = mfkit.datasets.load(a.data)
    train, _ = mfkit.split(data, "random:0.9", 1)
    csr = train.to_csr()

    cpp, py = [], []
    for _ in range(a.pairs):
        out = subprocess.run([cli, "train", "-m", "implicit-als", "--data", a.data, "--split", "random:0.9",
                              "--seed", "1", "--threads", str(a.threads), "--json", "-q"],
                             capture_output=True, text=True, check=True)
        cpp.append(json.loads(out.stdout)["train_seconds"])
        model = mfkit.ImplicitALS(num_threads=a.threads, random_state=1)
        t = time.perf_counter()
        model.fit(csr, show_progress=False)
        py.append(time.perf_counter() - t)

    # recommend: the C++ microbenchmark (bench/kernels_bench.cpp, the same call on an ML-1M
    # model) and the Python call, interleaved; each side's best of 5 per round.
    full = data.to_csr()
    model = mfkit.ImplicitALS(factors=64, iterations=2, num_threads=a.threads, random_state=1)
    model.fit(full, show_progress=False)
    users = np.arange(full.shape[0])
    rec, rec_cpp = [], []
    for _ in range(a.pairs):
        out = subprocess.run([str(ROOT / "build" / "bench" / "mfkit_bench_kernels"),
                              f"--benchmark_filter=BM_RecommendAllUsers/1/{a.threads}/",
                              "--benchmark_format=json", "--benchmark_repetitions=5"],
                             capture_output=True, text=True, check=True)
        runs = [b for b in json.loads(out.stdout)["benchmarks"] if b.get("run_type") == "iteration"]
        rec_cpp.append(min(b["real_time"] for b in runs) / 1000.0)
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            ids, _ = model.recommend(users, full, N=10, num_threads=a.threads)
            best = min(best, time.perf_counter() - t)
        rec.append(best)
    assert ids.shape == (full.shape[0], 10)

    syn = synthetic_10m()
    wall, lib, build = [], [], []

    def python_fit():
        model = mfkit.ImplicitALS(factors=64, iterations=3, compute_loss=False, num_threads=a.threads,
                                  random_state=1)
        t = time.perf_counter()
        model.fit(syn, show_progress=False)
        wall.append(time.perf_counter() - t)

    def library_fit():
        t = time.perf_counter()
        core = _core.Interactions.from_csr(*csr_parts(as_csr(syn)), syn.shape[1], None, None)
        build.append(time.perf_counter() - t)
        model = mfkit.ImplicitALS(factors=64, iterations=3, compute_loss=False, num_threads=a.threads,
                                  random_state=1)
        t = time.perf_counter()
        model._core.fit(core, None, a.threads, 1, None)
        lib.append(time.perf_counter() - t)

    for r in range(a.pairs):  # A B, then B A: neither side always runs first
        for run in ((python_fit, library_fit) if r % 2 == 0 else (library_fit, python_fit)):
            run()

    result = {
        "command": "PYTHONPATH=build/python /usr/bin/python3 bench/python_bench.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores",
        "dataset": a.data, "threads": a.threads, "n_users": int(csr.shape[0]), "n_items": int(csr.shape[1]),
        "nnz_train": int(csr.nnz),
        "fit": {"cpp_seconds": cpp, "python_seconds": py, "cpp_median": statistics.median(cpp),
                "python_median": statistics.median(py),
                "python_over_cpp": statistics.median(py) / statistics.median(cpp)},
        "fit_synthetic_10m": {"nnz": int(syn.nnz), "users": int(syn.shape[0]), "items": int(syn.shape[1]),
                              "factors": 64, "iterations": 3, "python_seconds": wall, "library_fit_seconds": lib,
                              "build_from_scipy_seconds": build,
                              "python_over_library": statistics.median(wall) / statistics.median(lib)},
        "recommend_all_users": {"python_seconds": rec, "cpp_seconds": rec_cpp,
                                "python_users_per_second": full.shape[0] / statistics.median(rec),
                                "cpp_users_per_second": full.shape[0] / statistics.median(rec_cpp),
                                "python_over_cpp": statistics.median(rec) / statistics.median(rec_cpp),
                                "N": 10, "filter_seen": True, "factors": 64},
    }
    pathlib.Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"python_over_cpp": result["fit"]["python_over_cpp"],
                      "synthetic_10m_python_over_library": result["fit_synthetic_10m"]["python_over_library"],
                      "recommend": {k: v for k, v in result["recommend_all_users"].items() if "per_second" in k or "over" in k}}))


if __name__ == "__main__":
    main()
