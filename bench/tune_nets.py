#!/usr/bin/env python3
"""The search behind the ranking networks' settings: for each of dotify's five networks, Optuna
(mfkit.tune, TPE) over its ranking loss and step settings, scored by the mean over users of the
expected percentile rank on a 10% carve-out of the training part of the protocol's split
(seed 1). The test part is never read.

    PYTHONPATH=build/python MFKIT_DATA_DIR=../shared/data /usr/bin/python3 bench/tune_nets.py \\
        --dataset lastfm-2k --split user:0.2 --trials 16 --out bench/results/nets_search_lastfm.json
    python3 bench/tune_nets.py --table bench/results/nets_search_lastfm.json [more.json]   # markdown
    python3 bench/tune_nets.py --bench-args bench/results/nets_search_lastfm.json [1,2,3]  # --models and
                            # --set flags of build/bench/mfkit_bench_accuracy for the best settings

Each network gets its own search: loss (bpr or warp), factors, learning rate, L2, epochs and the
negatives drawn per positive. Networks 4 and 5 (title LSTM, category) cost ~10x network 1 per
trial and get `--slow-trials` trials.
"""
import argparse
import json
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
SPACE = {
    "loss": ["bpr", "warp"],
    "factors": [30, 64, 128],
    "learning_rate": (3e-4, 3e-2, True),
    "reg": [0.0, 1e-5, 1e-4, 1e-3],
    "epochs": (5, 40, False),
    "negatives": [1, 3, 8],
}


def table(paths):
    print("| dataset | network | trials | best validation EPR | loss | factors | learning rate | L2 | epochs | negatives | search s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        res = json.load(open(path))
        for n in res["networks"]:
            b = n["best"]
            print(f"| {res['dataset']} | {n['architecture']} | {len(n['trials'])} | {n['best_value']:.4f} | {b['loss']} | "
                  f"{b['factors']} | {b['learning_rate']:.2g} | {b['reg']:g} | {b['epochs']} | {b['negatives']} | "
                  f"{n['seconds']:.0f} |")


def bench_args(path, architectures=None):
    res = json.load(open(path))
    models, sets = [], []
    for n in res["networks"]:
        if architectures and str(n["architecture"]) not in architectures.split(","):
            continue
        entry = f"shallow-net:arch{n['architecture']}"
        models.append(entry)
        sets += [f"--set {entry}:{k}={v}" for k, v in n["best"].items() if k != "architecture"]
    print(f"--models {','.join(models)} " + " ".join(sets))


def main():
    if sys.argv[1:2] == ["--table"]:
        return table(sys.argv[2:])
    if sys.argv[1:2] == ["--bench-args"]:
        return bench_args(*sys.argv[2:4])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--split", required=True)
    ap.add_argument("--architectures", default="1,2,3,4,5")
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--slow-trials", type=int, default=10, help="trials for networks 4 and 5")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "build" / "python"))
    import optuna

    import mfkit

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = mfkit.datasets.load(a.dataset, binarize=False)
    train, _ = mfkit.split(data, a.split, random_state=1)  # the protocol's seed-1 training part
    out = {"command": "PYTHONPATH=build/python /usr/bin/python3 bench/tune_nets.py " + " ".join(sys.argv[1:]),
           "dataset": a.dataset, "split": a.split, "metric": "mean_user_percentile_rank (validation, 10% of train)",
           "space": {k: list(v) for k, v in SPACE.items()}, "networks": []}
    for arch in [int(x) for x in a.architectures.split(",")]:
        t0 = time.perf_counter()
        trials = a.slow_trials if arch >= 4 else a.trials
        best, study = mfkit.tune("shallow-net", train, space=SPACE, n_trials=trials, metric="mean_user_percentile_rank",
                                 fixed={"architecture": arch}, random_state=1, num_threads=a.threads)
        row = {"architecture": arch, "best": best, "best_value": study.best_value,
               "seconds": time.perf_counter() - t0,
               "trials": [{"params": t.params, "value": t.value} for t in study.trials]}
        out["networks"].append(row)
        print(json.dumps({k: row[k] for k in ("architecture", "best", "best_value", "seconds")}), flush=True)
        tmp = pathlib.Path(a.out + ".tmp")
        tmp.write_text(json.dumps(out, indent=2) + "\n")
        os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
