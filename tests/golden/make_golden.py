#!/usr/bin/env python3
"""Writes a golden model file for a registered model type, with the answers it gave when written:

    python3 tests/golden/make_golden.py bpr [--mfkit build/mfkit]

tests/golden/<type>_v<format>.mfk and .json (the command that wrote it, predictions for a few
(user, item) pairs and top-3 lists). The conformance suite loads every model type's golden file
and expects the same answers, so that files written by this build keep loading in later ones.
Run it once when a model type is added (or the file format's version changes), and commit both
files; never rewrite an existing one.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PAIRS = [("user1", "item1"), ("user2", "item5"), ("user7", "item3"), ("user12", "item8")]
USERS = ["user1", "user7"]
# Small and quick settings per model (tiny_ratings.csv has 16 users and 10 items).
SETTINGS = {
    "biased-mf": ["--set", "factors=3", "--set", "epochs=10"],
    "als": ["--set", "factors=3", "--set", "iterations=5"],
    "implicit-als": ["--set", "factors=3", "--set", "iterations=5"],
    "bpr": ["--set", "factors=3", "--set", "epochs=10"],
    "ease": ["--set", "reg=10"],
    "popularity": [],
    "nnmf": ["--set", "d_prime=4", "--set", "hidden=8", "--set", "layers=2", "--set", "epochs=5"],
    "shallow-net": ["--set", "architecture=2", "--set", "factors=3", "--set", "epochs=2"],
}


def cli(mfkit, *args):
    r = subprocess.run([mfkit, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"make_golden: {' '.join(args)} failed:\n{r.stderr}{r.stdout}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--mfkit", default=str(ROOT / "build" / "mfkit"))
    ap.add_argument("--version", type=int, default=1, help="the model-file format version written by this build")
    a = ap.parse_args()
    if a.model not in SETTINGS:
        sys.exit(f"make_golden: no settings for '{a.model}' here: add them to SETTINGS")
    stem = f"{a.model.replace('-', '_')}_v{a.version}"
    out = HERE / f"{stem}.mfk"
    if out.exists():
        sys.exit(f"make_golden: {out} exists; golden files are never rewritten")
    rel = os.path.relpath(out, ROOT)
    train = ["train", "-m", a.model, "--data", "tests/golden/tiny_ratings.csv", "--format", "user,item,rating", "--header",
             *SETTINGS[a.model], "--split", "none", "--seed", "3", "--threads", "1", "-o", rel, "-q"]
    os.chdir(ROOT)
    cli(a.mfkit, *train)
    args = ["predict", "-f", rel, "--json"]
    for u, i in PAIRS:
        args += ["-u", u, "-i", i]
    preds = json.loads(cli(a.mfkit, *args))
    rec = json.loads(cli(a.mfkit, "recommend", "-f", rel, *sum((["-u", u] for u in USERS), []), "-k", "3", "--json"))
    golden = {"written_by": f"{cli(a.mfkit, '--version').strip()}, format version {a.version}: "
                            f"build/mfkit {' '.join(train)}",
              "predictions": [[p["user"], p["item"], p["prediction"]] for p in preds],
              "recommend": rec}
    (HERE / f"{stem}.json").write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {rel} and {stem}.json")


if __name__ == "__main__":
    main()
