#!/usr/bin/env python3
"""How load, fit and memory grow with the data: synthetic `user,item,count` files of 1M to 100M
lines (bench/synthetic_csv.py), each loaded by `mfkit data info` (--load-runs times per round) and
fitted on everything by implicit-als (CG) and biased-mf (SGD) for a few iterations and saved, each
run under /usr/bin/time for its peak RSS (and mfkit's own high-water mark after each stage: load,
split, fit, save). An iteration's time is the median of the epochs' own times; the rest of the fit
is its set-up. The sizes run one after the other in each of --rounds rounds, so that the growth
from one size to the next is also taken within each round (the median of those ratios reported):
this machine's speed drifts by tens of percent over minutes, and sizes measured minutes apart
would carry that drift into the growth. This virtual machine also hands a process fresh memory
slowly when the host has not backed it lately (numpy.ones of 0.8 GB: 1.61 s the first time, 0.09 s
right after): each timed command runs right after a process that touched --warm-gb of memory, so
that small and large runs pay the same for fresh memory (the kernel still zeroes every page).
Writes JSON with every command; bench/scale_table.py makes the table and plot.

    python3 bench/scale.py --dir /tmp/mfkit-scale --out bench/results/scale.json
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODELS = ("implicit-als", "biased-mf")
SHAPES = {1_000_000: (15_000, 3_000), 10_000_000: (150_000, 30_000), 30_000_000: (450_000, 90_000),
          100_000_000: (1_500_000, 300_000)}


def timed(cmd, warm_gb):
    """(stdout JSON, peak RSS in bytes, wall seconds) of a command run under /usr/bin/time, right
    after a process that touched warm_gb of memory and let it go."""
    if warm_gb > 0:
        subprocess.run([sys.executable, "-c", f"import numpy; numpy.ones(int({warm_gb} * 2**30 / 8))"], check=True)
    r = subprocess.run(["/usr/bin/time", "-f", "@@ %M %e"] + cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    tail = [l for l in r.stderr.splitlines() if l.startswith("@@ ")][-1].split()
    return json.loads(r.stdout), int(tail[1]) * 1024, float(tail[2])


def run_size(a, n):
    """One round at n lines: the loads, then each model's fit."""
    users, items = SHAPES.get(n, (max(1000, n // 66), max(300, n // 330)))
    path = os.path.join(a.dir, f"synthetic_{n}.csv")
    if not os.path.exists(path):
        subprocess.run([sys.executable, str(ROOT / "bench" / "synthetic_csv.py"), "--lines", str(n), "--users",
                        str(users), "--items", str(items), "--out", path], check=True)
    data = ["--data", path, "--format", "user,item,rating", "--sep", ",", "--duplicates", "sum",
            "--threads", str(a.threads)]
    info_cmd = [a.mfkit, "data", "info", "--json"] + data
    loads = [timed(info_cmd, a.warm_gb) for _ in range(a.load_runs)]
    info = loads[0][0]
    run = {"file_bytes": os.path.getsize(path), "users": info["users"], "items": info["items"],
           "interactions": info["interactions"],
           "load": {"command": " ".join(info_cmd), "seconds": [x[0]["load_seconds"] for x in loads],
                    "peak_rss": max(x[1] for x in loads), "wall_seconds": [x[2] for x in loads]}}
    for model, sets in (("implicit-als", [f"iterations={a.iterations}", "factors=64"]),
                        ("biased-mf", [f"epochs={a.iterations}", "factors=64"])):
        out = os.path.join(a.dir, f"model_{n}.mfk")
        cmd = [a.mfkit, "train", "-m", model, "--split", "none", "--json", "-q", "-o", out] + data
        for s in sets:
            cmd += ["--set", s]
        rep, rss, wall = timed(cmd, a.warm_gb)
        per_epoch = rep["epoch_seconds"]
        run[model] = {"command": " ".join(cmd), "load_seconds": rep["load_seconds"],
                      "train_seconds": rep["train_seconds"], "epoch_seconds": per_epoch,
                      "seconds_per_iteration": statistics.median(per_epoch),
                      "setup_seconds": rep["train_seconds"] - sum(per_epoch),
                      "peak_rss": rss, "peak_rss_by_stage": rep["peak_rss_bytes"], "wall_seconds": wall}
        os.remove(out)
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="where the synthetic files are written (kept between runs)")
    ap.add_argument("--sizes", type=int, nargs="+", default=sorted(SHAPES))
    ap.add_argument("--mfkit", default=str(ROOT / "build" / "mfkit"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="rounds over all sizes")
    ap.add_argument("--load-runs", type=int, default=3, help="loads per size and round")
    ap.add_argument("--warm-gb", type=float, default=6.0,
                    help="memory touched by a process of its own before each timed command (0: none)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    sizes = sorted(a.sizes)
    runs = {n: [] for n in sizes}  # runs[n][round]
    for r in range(a.rounds):
        for n in sizes:
            runs[n].append(run_size(a, n))
            x = runs[n][-1]
            print(json.dumps({"round": r, "lines": n, "load": x["load"]["seconds"],
                              **{m: [x[m]["seconds_per_iteration"], x[m]["setup_seconds"]] for m in MODELS}}), flush=True)
    rows = []
    for n in sizes:
        rs = runs[n]
        first = rs[0]
        nnz = first["interactions"]
        # The two CSR layouts: indices and values (4 + 4 bytes per entry each) and the row pointers.
        csr = 2 * nnz * 8 + 8 * (first["users"] + first["items"] + 2)
        loads = [t for x in rs for t in x["load"]["seconds"]]
        row = {"lines": n, "file_bytes": first["file_bytes"], "users": first["users"], "items": first["items"],
               "interactions": nnz, "csr_bytes": csr,
               "load": {"command": first["load"]["command"], "seconds": statistics.median(loads),
                        "runs_seconds": loads, "peak_rss": max(x["load"]["peak_rss"] for x in rs)}}
        for m in MODELS:
            per_round = [x[m] for x in rs]
            row[m] = {"command": per_round[0]["command"],
                      "seconds_per_iteration": statistics.median(y["seconds_per_iteration"] for y in per_round),
                      "setup_seconds": statistics.median(y["setup_seconds"] for y in per_round),
                      "peak_rss": max(y["peak_rss"] for y in per_round),
                      "peak_rss_by_stage": per_round[0]["peak_rss_by_stage"], "rounds": per_round}
        rows.append(row)
    # Growth from each size to the next, taken within each round.
    growth = []
    for lo, hi in zip(sizes, sizes[1:]):
        def ratio(key):
            if key == "load":
                v = [statistics.median(runs[hi][r]["load"]["seconds"]) / statistics.median(runs[lo][r]["load"]["seconds"])
                     for r in range(a.rounds)]
            else:
                v = [runs[hi][r][key]["seconds_per_iteration"] / runs[lo][r][key]["seconds_per_iteration"]
                     for r in range(a.rounds)]
            return {"median": statistics.median(v), "rounds": v}
        growth.append({"from": lo, "to": hi, "interactions": runs[hi][0]["interactions"] / runs[lo][0]["interactions"],
                       **{k: ratio(k) for k in ("load",) + MODELS}})
    report = {"command": " ".join([sys.executable] + sys.argv), "threads": a.threads, "rounds": a.rounds,
              "warm_gb": a.warm_gb,
              "rows": rows, "growth": growth}
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
