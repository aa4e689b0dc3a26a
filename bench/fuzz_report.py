#!/usr/bin/env python3
"""Long fuzzing runs, summarised from libFuzzer's own logs into JSON, and their docs table.

    scripts/fuzz.sh model_file 600 > /tmp/fuzz_model_file.log 2>&1      # one run per target
    python3 bench/fuzz_report.py --out bench/results/fuzz_long.json /tmp/fuzz_*.log
    python3 bench/fuzz_report.py --table bench/results/fuzz_long.json   # docs/security.md

Each log is read for the target (its name fuzz_TARGET.log or long_TARGET.log), the seconds,
executions, final coverage and corpus, and whether it ended with a crash (an artifact written).
"""
import json
import pathlib
import re
import shlex
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from machine import cpu, save  # noqa: E402


def parse(path):
    text = pathlib.Path(path).read_text(errors="replace")
    m = re.search(r"(?:fuzz|long)_(\w+?)\.log$", str(path))
    target = m.group(1) if m else pathlib.Path(path).stem
    done = re.findall(r"^Done (\d+) runs in (\d+) second", text, re.M)
    final = re.findall(r"#\d+\s+DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)", text)
    seeds = len(list((pathlib.Path(__file__).resolve().parents[1] / "fuzz" / "corpus" / target).iterdir()))
    crashed = "Test unit written" in text or "ERROR: libFuzzer" in text or "SUMMARY:" in text
    return {"target": target, "seconds": int(done[-1][1]) if done else None, "executions": int(done[-1][0]) if done else None,
            "coverage": int(final[-1][0]) if final else None, "features": int(final[-1][1]) if final else None,
            "corpus": int(final[-1][2]) if final else None, "seed_corpus": seeds, "crashed": crashed}


def table(path):
    r = json.loads(pathlib.Path(path).read_text())
    print("| target | seeds | seconds | executions | corpus at the end | coverage (edges) | crashes |")
    print("|---|---|---|---|---|---|---|")
    for t in r["runs"]:
        print(f"| `{t['target']}` | {t['seed_corpus']} | {t['seconds']} | {t['executions']:,} | {t['corpus']:,} | "
              f"{t['coverage']:,} | {'yes' if t['crashed'] else 'none'} |")
    print(f"\nASan + UBSan (clang, -O1), {r['cpu']}; from the logs by `{r['command']}`.")


def main():
    if sys.argv[1:2] == ["--table"]:
        return table(sys.argv[2])
    args = sys.argv[1:]
    out = None
    if args[:1] == ["--out"]:
        out, args = args[1], args[2:]
    c = cpu()
    result = {"command": shlex.join(["python3", "bench/fuzz_report.py"] + sys.argv[1:]),
              "cpu": f"{c['model']}, {c['cores']} cores, {c['arch']}", "runs": [parse(p) for p in args]}
    print(json.dumps(result, indent=2))
    if out:
        save(out, result, indent=2)


if __name__ == "__main__":
    main()
