#!/usr/bin/env python3
"""mfkit's biased-mf SGD epoch against LIBMF's, side by side in one run, interleaved, on each of
mfkit's kernel paths (MFKIT_ISA) against a LIBMF built for the same instruction set.

    PYTHONPATH=build/python MFKIT_DATA_DIR=../shared/data /usr/bin/python3 bench/sgd_libmf.py \\
        --libmf avx2=/path/to/libmf-avx2/mf-train --libmf avx512=/path/to/libmf/mf-train \\
        --processes 5 --out bench/results/sgd_libmf.json
    python3 bench/sgd_libmf.py --table bench/results/sgd_libmf.json      # the markdown table

LIBMF is built from its public sources outside this project (nothing of it is committed), once per
path: `make DFLAG="-DUSEAVX -DUSEOMP" CXXFLAGS="-Wall -O3 -pthread -std=c++0x -march=x86-64-v3 -mavx
-fopenmp"` for avx2 (its 256-bit AVX kernel, nothing wider), the same with `-march=native` for avx512,
`make CXXFLAGS="-Wall -O3 -pthread -std=c++0x -march=x86-64-v2 -fopenmp"` (its SSE kernel; its
Makefile would add -march=native) for baseline. `--libmf PATH` alone compares the CPU's own path.
Both fit the same file, ML-1M's 90% training part (random split, seed 1) written as `user item
rating` lines, with k factors, 2 threads and a 20 x 20 block grid (LIBMF's default,
and mfkit's at 2 threads), as whole processes. An epoch's time is the difference between a run of
`--long` and a run of `--short` epochs divided by the difference, so that loading, set-up and
saving cancel out; every (tool, k, epochs) runs once per round, the tools alternating, for
`--processes` rounds. Reported: the medians, the ratio mfkit / LIBMF, and each round's own
estimate (to show whether one process runs at another speed than the next).
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def table(path):
    res = json.load(open(path))
    m = res["machine"]
    print(f"Command: `{res['command']}` ({m['model']}, family {m['family']} model {m['model_number']}, "
          f"{m['cores']} cores, {' '.join(m['vector_flags'])}; {res['threads']} threads; one epoch = "
          f"(T({res['long']} epochs) - T({res['short']} epochs)) / {res['long'] - res['short']}, whole processes, "
          f"medians of {res['processes']} interleaved rounds)\n")
    print("| path | k | LIBMF epoch | mfkit epoch | mfkit / LIBMF | mfkit per round (ms) | LIBMF per round (ms) |")
    print("|---|---|---|---|---|---|---|")
    for r in res["rows"]:
        per = lambda xs: ", ".join(f"{x * 1000:.1f}" for x in xs)
        print(f"| {r['isa']} (LIBMF {res['libmf'][r['isa']]['build']}) | {r['k']} | {r['libmf_epoch_s'] * 1000:.1f} ms "
              f"| {r['mfkit_epoch_s'] * 1000:.1f} ms | {r['ratio']:.2f} | {per(r['mfkit_rounds'])} | {per(r['libmf_rounds'])} |")


def build_of(mf_train):
    """What LIBMF's binary was compiled for, from its code: the widest vector registers it uses."""
    asm = subprocess.run(["objdump", "-d", "--no-show-raw-insn", mf_train], capture_output=True, text=True).stdout
    return "AVX-512 code" if "%zmm" in asm else "AVX code" if "%ymm" in asm else "SSE code"


def timed(cmd, env):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"sgd_libmf: `{' '.join(cmd)}` failed:\n{r.stderr}")
    return time.perf_counter() - t0


def main():
    if sys.argv[1:2] == ["--table"]:
        return table(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--libmf", required=True, action="append",
                    help="PATH (the CPU's own path) or ISA=PATH, ISA one of baseline, avx2, avx512 (repeatable)")
    ap.add_argument("--mfkit", default=str(ROOT / "build" / "mfkit"))
    ap.add_argument("--dataset", default="ml-1m")
    ap.add_argument("--ks", default="32,64,128")
    ap.add_argument("--processes", type=int, default=5)
    ap.add_argument("--short", type=int, default=10)
    ap.add_argument("--long", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "build" / "python"))
    import mfkit
    from machine import describe, isa_env, paths, save

    here = paths(a.mfkit)
    libmfs = dict(x.split("=", 1) if "=" in x else (here[-1], x) for x in a.libmf)
    for isa in libmfs:
        if isa not in here:
            sys.exit(f"sgd_libmf: this CPU does not run mfkit's {isa} kernels ({', '.join(here)})")

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mfkit-sgd-"))
    train, _ = mfkit.split(mfkit.datasets.load(a.dataset), "random:0.9", random_state=1)
    m = train.to_csr().tocoo()
    data = tmp / "train.txt"
    with open(data, "w") as f:
        for u, i, r in zip(m.row, m.col, m.data):
            f.write(f"{u} {i} {r:g}\n")
    model = tmp / "model"

    def libmf(isa, k, n):
        return [libmfs[isa], "-k", str(k), "-t", str(n), "-s", str(a.threads), "-n", "20", "-l2", "0.05", "-r", "0.05",
                "--quiet", str(data), str(model)]

    def ours(isa, k, n):
        return [a.mfkit, "train", "-m", "biased-mf", "--data", str(data), "--format", "user,item,rating", "--sep", " ",
                "--split", "none", "--threads", str(a.threads), "--set", f"factors={k}", "--set", f"epochs={n}",
                "--set", "blocks=20", "-q", "-o", str(model) + ".mfk"]

    ks = [int(k) for k in a.ks.split(",")]
    isas = [isa for isa in ("baseline", "avx2", "avx512") if isa in libmfs]
    times = {(tool, isa, k, n): [] for tool in ("libmf", "mfkit") for isa in isas for k in ks for n in (a.short, a.long)}
    for rnd in range(a.processes):
        for isa in isas:
            env = isa_env(isa)
            for k in ks:
                for n in (a.short, a.long):
                    # alternate which tool goes first, so that neither always follows the other
                    order = [("libmf", libmf), ("mfkit", ours)][:: 1 if rnd % 2 == 0 else -1]
                    for tool, make in order:
                        times[(tool, isa, k, n)].append(timed(make(isa, k, n), env))
        print(f"round {rnd + 1} of {a.processes} done", flush=True)
    span = a.long - a.short
    rows = []
    for isa in isas:
        for k in ks:
            row = {"isa": isa, "k": k}
            for tool in ("libmf", "mfkit"):
                short, long = times[(tool, isa, k, a.short)], times[(tool, isa, k, a.long)]
                row[f"{tool}_epoch_s"] = (statistics.median(long) - statistics.median(short)) / span
                row[f"{tool}_rounds"] = [(lo - sh) / span for sh, lo in zip(short, long)]
                row[f"{tool}_runs_s"] = {"short": short, "long": long}
            row["ratio"] = row["mfkit_epoch_s"] / row["libmf_epoch_s"]
            rows.append(row)
            print(json.dumps({x: row[x] for x in ("isa", "k", "libmf_epoch_s", "mfkit_epoch_s", "ratio")}), flush=True)
    out = {"command": "PYTHONPATH=build/python /usr/bin/python3 bench/sgd_libmf.py " + " ".join(sys.argv[1:]),
           "machine": describe(a.mfkit, isas), "peer": "LIBMF (cjlin1/libmf master 1498368)",
           "libmf": {isa: {"path": p, "build": build_of(p)} for isa, p in libmfs.items()},
           "dataset": f"{a.dataset} random 90% (seed 1), {m.nnz} ratings", "threads": a.threads,
           "processes": a.processes, "short": a.short, "long": a.long, "rows": rows}
    save(a.out, out, indent=2)


if __name__ == "__main__":
    main()
