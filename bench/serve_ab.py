#!/usr/bin/env python3
"""Two builds' servers under the same load, interleaved A B A B (mfkit_bench_serve's steady
phase: 8 keep-alive connections, closed loop), with the ratio of their throughputs:

    /usr/bin/python3 bench/serve_ab.py --a build/bench/mfkit_bench_serve \\
        --b /tmp/base/build/bench/mfkit_bench_serve --pairs 3 --out bench/results/serve_ab.json
"""
import argparse
import json
import pathlib
import shlex
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from machine import cpu, save  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--label-a", default="A")
    ap.add_argument("--label-b", default="B")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--out")
    a = ap.parse_args()
    runs = {"a": [], "b": []}
    with tempfile.TemporaryDirectory() as tmp:
        for p in range(a.pairs):
            for side in ("a", "b"):
                out = pathlib.Path(tmp) / f"{side}{p}.json"
                subprocess.run([getattr(a, side), "--seconds", str(a.seconds), "--no-reloads", "--out", str(out)],
                               check=True, capture_output=True)
                s = json.loads(out.read_text())["steady"]
                runs[side].append({"requests_per_s": s["requests_per_s"], "p50_ms": s["p50_ms"], "p99_ms": s["p99_ms"],
                                   "failed": s["failed"]})
    med = {k: statistics.median(r["requests_per_s"] for r in v) for k, v in runs.items()}
    result = {"command": shlex.join(["/usr/bin/python3", "bench/serve_ab.py"] + sys.argv[1:]), "cpu": cpu(),
              "a": {"label": a.label_a, "binary": a.a, "runs": runs["a"]},
              "b": {"label": a.label_b, "binary": a.b, "runs": runs["b"]},
              "median_requests_per_s": med, "a_over_b": med["a"] / med["b"]}
    print(json.dumps(result, indent=2))
    if a.out:
        save(a.out, result, indent=2)


if __name__ == "__main__":
    main()
