#!/usr/bin/env python3
"""Start-up time of mfkit commands, as whole processes: the commands that need no neural model
(libtorch is loaded only when one is created or loaded) beside one that loads an nnmf file.

The commands run in turn, round after round (A B C ... A B C ...), so that the machine's noise
falls on all of them alike; each figure is the median over the rounds, in milliseconds.

    python3 bench/startup.py --rounds 20 --out bench/results/startup.json
    python3 bench/startup.py --table bench/results/startup.json      # the markdown table
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


def run(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"startup: `{' '.join(cmd)}` failed: {r.stderr}")
    return dt * 1000


def table(path):
    res = json.load(open(path))
    print(f"Median of {res['rounds']} runs, interleaved, whole processes (`{res['command']}`).\n")
    print("| command | median ms | min | max |")
    print("|---|---|---|---|")
    for r in res["rows"]:
        print(f"| `{r['argv']}` | {r['median_ms']:.1f} | {r['min_ms']:.1f} | {r['max_ms']:.1f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mfkit", default=str(ROOT / "build" / "mfkit"))
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--out")
    ap.add_argument("--table", metavar="JSON", help="print the markdown table of a result file and exit")
    a = ap.parse_args()
    if a.table:
        return table(a.table)
    if not a.out:
        ap.error("--out is required")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mfkit-startup-"))
    mf, nn = str(tmp / "biased.mfk"), str(tmp / "nnmf.mfk")
    for model, path in (("biased-mf", mf), ("nnmf", nn)):
        subprocess.run([a.mfkit, "train", "-m", model, "--data", "synthetic", "--split", "none", "--set", "epochs=2",
                        "-q", "-o", path], check=True, stdout=subprocess.DEVNULL)
    m = a.mfkit
    commands = {
        "mfkit --help": [m, "--help"],
        "mfkit models": [m, "models"],
        "mfkit predict (biased-mf file)": [m, "predict", "-f", mf, "-u", "u1", "-i", "i1"],
        "mfkit recommend (biased-mf file)": [m, "recommend", "-f", mf, "-u", "u1", "-k", "10"],
        "mfkit predict (nnmf file: loads libtorch)": [m, "predict", "-f", nn, "-u", "u1", "-i", "i1"],
    }
    times = {name: [] for name in commands}
    for _ in range(a.rounds):
        for name, cmd in commands.items():
            times[name].append(run(cmd))
    rows = [{"command": name, "argv": " ".join(commands[name]).replace(str(tmp), "$TMP").replace(m, "mfkit"),
             "median_ms": statistics.median(t), "min_ms": min(t), "max_ms": max(t)} for name, t in times.items()]
    out = {"command": "python3 bench/startup.py " + " ".join(sys.argv[1:]), "rounds": a.rounds,
           "models": "trained on the built-in synthetic data, 2 epochs (their size does not matter here)",
           "rows": rows}
    with open(a.out + ".tmp", "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    os.replace(a.out + ".tmp", a.out)
    for r in rows:
        print(f"{r['median_ms']:8.1f} ms  (min {r['min_ms']:.1f}, max {r['max_ms']:.1f})  {r['command']}")


if __name__ == "__main__":
    main()
