#!/usr/bin/env python3
"""How load, fit and memory grow with the data: synthetic `user,item,count` files of 1M, 10M and
100M lines (bench/synthetic_csv.py), each loaded by `mfkit data info` (--load-runs times, the
median reported) and fitted on everything by implicit-als (CG) and biased-mf (SGD) for a few
iterations and saved, each run under /usr/bin/time for its peak RSS (and mfkit's own high-water
mark after each stage: load, split, fit, save). Writes JSON with every command; bench/scale_table.py makes the table and plot.

    python3 bench/scale.py --dir /tmp/mfkit-scale --sizes 1000000 10000000 100000000 \\
        --out bench/results/scale.json
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHAPES = {1_000_000: (15_000, 3_000), 10_000_000: (150_000, 30_000), 100_000_000: (1_500_000, 300_000)}


def timed(cmd):
    """(stdout JSON, peak RSS in bytes, wall seconds) of a command run under /usr/bin/time."""
    r = subprocess.run(["/usr/bin/time", "-f", "@@ %M %e"] + cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    tail = [l for l in r.stderr.splitlines() if l.startswith("@@ ")][-1].split()
    return json.loads(r.stdout), int(tail[1]) * 1024, float(tail[2])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="where the synthetic files are written (kept between runs)")
    ap.add_argument("--sizes", type=int, nargs="+", default=sorted(SHAPES))
    ap.add_argument("--mfkit", default=str(ROOT / "build" / "mfkit"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--load-runs", type=int, default=5, help="loads per size (the median is reported: a shared machine is noisy)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    rows = []
    for n in a.sizes:
        users, items = SHAPES.get(n, (max(1000, n // 66), max(300, n // 330)))
        path = os.path.join(a.dir, f"synthetic_{n}.csv")
        if not os.path.exists(path):
            subprocess.run([sys.executable, str(ROOT / "bench" / "synthetic_csv.py"), "--lines", str(n), "--users",
                            str(users), "--items", str(items), "--out", path], check=True)
        data = ["--data", path, "--format", "user,item,rating", "--sep", ",", "--duplicates", "sum",
                "--threads", str(a.threads)]
        row = {"lines": n, "file_bytes": os.path.getsize(path)}
        info_cmd = [a.mfkit, "data", "info", "--json"] + data
        loads = [timed(info_cmd) for _ in range(a.load_runs)]
        info = loads[0][0]
        load_seconds = [x[0]["load_seconds"] for x in loads]
        rss = max(x[1] for x in loads)
        wall = statistics.median(x[2] for x in loads)
        nnz = info["interactions"]
        # The two CSR layouts: indices and values (4 + 4 bytes per entry each) and the row pointers.
        csr = 2 * nnz * 8 + 8 * (info["users"] + info["items"] + 2)
        row.update({"users": info["users"], "items": info["items"], "interactions": nnz, "csr_bytes": csr,
                    "load": {"command": " ".join(info_cmd), "seconds": statistics.median(load_seconds),
                             "runs_seconds": load_seconds, "peak_rss": rss, "wall_seconds": wall}})
        for model, sets in (("implicit-als", [f"iterations={a.iterations}", "factors=64"]),
                            ("biased-mf", [f"epochs={a.iterations}", "factors=64"])):
            out = os.path.join(a.dir, f"model_{n}.mfk")
            cmd = [a.mfkit, "train", "-m", model, "--split", "none", "--json", "-q", "-o", out] + data
            for s in sets:
                cmd += ["--set", s]
            rep, rss, wall = timed(cmd)
            row[model] = {"command": " ".join(cmd), "load_seconds": rep["load_seconds"],
                          "train_seconds": rep["train_seconds"], "epochs": rep["epochs"],
                          "seconds_per_iteration": rep["train_seconds"] / max(1, rep["epochs"]),
                          "peak_rss": rss, "peak_rss_by_stage": rep["peak_rss_bytes"], "wall_seconds": wall}
            os.remove(out)
        rows.append(row)
        print(json.dumps(row), flush=True)
    report = {"command": " ".join([sys.executable] + sys.argv), "threads": a.threads, "rows": rows}
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
