#!/usr/bin/env python3
"""Loading, fitting and ranking evaluation of one `mfkit train` run, timed by mfkit itself
(load_seconds, train_seconds, eval_seconds in its report), written as JSON with the command.

    python3 bench/eval_speed.py --out bench/results/eval_10m.json -- build/mfkit train -m implicit-als \\
        --data /tmp/mfkit-scale/synthetic_10000000.csv --format user,item,rating --sep , --duplicates sum \\
        --split random:0.99 --threads 2
"""
import argparse
import json
import os
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = [c for c in a.command if c != "--"]
    r = subprocess.run(cmd + ["--json", "-q"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(r.stderr)
    rep = json.loads(r.stdout)
    out = {"command": " ".join(cmd + ["--json", "-q"]), "load_seconds": rep["load_seconds"],
           "train_seconds": rep["train_seconds"], "eval_seconds": rep["eval_seconds"],
           "eval_over_train": rep["eval_seconds"] / rep["train_seconds"], "n_train": rep["n_train"],
           "n_test": rep["n_test"], "test": rep["test"]}
    with open(a.out + ".tmp", "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    os.replace(a.out + ".tmp", a.out)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
