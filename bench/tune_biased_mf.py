"""Tunes biased-mf on the training part (random 90/10, seed 1) of each dataset by Optuna on a 10%
carve-out of it, so that the NNMF table compares with a biased MF tuned on that data:

  MFKIT_DATA_DIR=../shared/data PYTHONPATH=build/python python3 bench/tune_biased_mf.py \
      ml-latest-small synthetic > bench/results/biased_mf_tuned.json
"""
import json
import sys
import time

import optuna

import mfkit


def main(names):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = {"command": "PYTHONPATH=build/python python3 bench/tune_biased_mf.py " + " ".join(names),
           "created_unix": int(time.time()), "trials": 40, "split": "random 90/10, seed 1; 10% of train carved", "results": {}}
    for name in names:
        data = mfkit.datasets.synthetic() if name == "synthetic" else mfkit.datasets.load(name)
        train, _ = mfkit.split(data, "random:0.9", random_state=1)
        best, study = mfkit.tune("biased-mf", train, n_trials=40, valid=0.1, random_state=1, num_threads=2)
        out["results"][name] = {"params": best, "valid_rmse": study.best_value}
        print(name, best, study.best_value, file=sys.stderr)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
