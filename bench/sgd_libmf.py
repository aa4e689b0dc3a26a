#!/usr/bin/env python3
"""mfkit's biased-mf SGD epoch against LIBMF's, side by side in one run, interleaved.

    PYTHONPATH=build/python MFKIT_DATA_DIR=../shared/data /usr/bin/python3 bench/sgd_libmf.py \\
        --libmf /path/to/libmf/mf-train --processes 5 --out bench/results/sgd_libmf.json
    python3 bench/sgd_libmf.py --table bench/results/sgd_libmf.json      # the markdown table

LIBMF is built from its public sources outside this project (`make` with its AVX flags; nothing of
it is committed). Both fit the same file, ML-1M's 90% training part (random split, seed 1) written
as `user item rating` lines, with k factors, 2 threads and a 20 x 20 block grid (LIBMF's default,
and mfkit's at 2 threads), as whole processes. An epoch's time is the difference between a run of
`--long` and a run of `--short` epochs divided by the difference, so that loading, set-up and
saving cancel out; every (tool, k, epochs) runs once per round, the tools alternating, for
`--processes` rounds. Reported: the medians, the ratio mfkit / LIBMF, and each round's own
estimate (to show whether one process runs at another speed than the next).
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def table(path):
    res = json.load(open(path))
    print(f"Command: `{res['command']}` ({res['machine']}; {res['threads']} threads; one epoch = "
          f"(T({res['long']} epochs) - T({res['short']} epochs)) / {res['long'] - res['short']}, whole processes, "
          f"medians of {res['processes']} interleaved rounds)\n")
    print("| k | LIBMF epoch | mfkit epoch | mfkit / LIBMF | mfkit per round (ms) | LIBMF per round (ms) |")
    print("|---|---|---|---|---|---|")
    for r in res["rows"]:
        per = lambda xs: ", ".join(f"{x * 1000:.1f}" for x in xs)
        print(f"| {r['k']} | {r['libmf_epoch_s'] * 1000:.1f} ms | {r['mfkit_epoch_s'] * 1000:.1f} ms | "
              f"{r['ratio']:.2f} | {per(r['mfkit_rounds'])} | {per(r['libmf_rounds'])} |")


def timed(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"sgd_libmf: `{' '.join(cmd)}` failed:\n{r.stderr}")
    return time.perf_counter() - t0


def main():
    if sys.argv[1:2] == ["--table"]:
        return table(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--libmf", required=True, help="LIBMF's mf-train")
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

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mfkit-sgd-"))
    train, _ = mfkit.split(mfkit.datasets.load(a.dataset), "random:0.9", random_state=1)
    m = train.to_csr().tocoo()
    data = tmp / "train.txt"
    with open(data, "w") as f:
        for u, i, r in zip(m.row, m.col, m.data):
            f.write(f"{u} {i} {r:g}\n")
    model = tmp / "model"

    def libmf(k, n):
        return [a.libmf, "-k", str(k), "-t", str(n), "-s", str(a.threads), "-n", "20", "-l2", "0.05", "-r", "0.05",
                "--quiet", str(data), str(model)]

    def ours(k, n):
        return [a.mfkit, "train", "-m", "biased-mf", "--data", str(data), "--format", "user,item,rating", "--sep", " ",
                "--split", "none", "--threads", str(a.threads), "--set", f"factors={k}", "--set", f"epochs={n}",
                "--set", "blocks=20", "-q", "-o", str(model) + ".mfk"]

    ks = [int(k) for k in a.ks.split(",")]
    times = {(tool, k, n): [] for tool in ("libmf", "mfkit") for k in ks for n in (a.short, a.long)}
    for rnd in range(a.processes):
        for k in ks:
            for n in (a.short, a.long):
                # alternate which tool goes first, so that neither always follows the other
                order = [("libmf", libmf), ("mfkit", ours)][:: 1 if rnd % 2 == 0 else -1]
                for tool, make in order:
                    times[(tool, k, n)].append(timed(make(k, n)))
        print(f"round {rnd + 1} of {a.processes} done", flush=True)
    span = a.long - a.short
    rows = []
    for k in ks:
        row = {"k": k}
        for tool in ("libmf", "mfkit"):
            short, long = times[(tool, k, a.short)], times[(tool, k, a.long)]
            row[f"{tool}_epoch_s"] = (statistics.median(long) - statistics.median(short)) / span
            row[f"{tool}_rounds"] = [(lo - sh) / span for sh, lo in zip(short, long)]
            row[f"{tool}_runs_s"] = {"short": short, "long": long}
        row["ratio"] = row["mfkit_epoch_s"] / row["libmf_epoch_s"]
        rows.append(row)
        print(json.dumps({x: row[x] for x in ("k", "libmf_epoch_s", "mfkit_epoch_s", "ratio")}), flush=True)
    out = {"command": "PYTHONPATH=build/python /usr/bin/python3 bench/sgd_libmf.py " + " ".join(sys.argv[1:]),
           "machine": f"{os.cpu_count()} cores", "peer": "LIBMF (cjlin1/libmf master, AVX build)",
           "dataset": f"{a.dataset} random 90% (seed 1), {m.nnz} ratings", "threads": a.threads,
           "processes": a.processes, "short": a.short, "long": a.long, "rows": rows}
    with open(a.out + ".tmp", "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    os.replace(a.out + ".tmp", a.out)


if __name__ == "__main__":
    main()
