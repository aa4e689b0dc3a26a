"""`python3 -m mfkit tune MODEL --data NAME ...`: an Optuna search from a shell; prints the best
parameters as JSON (ready for `mfkit train -m MODEL --set ...` or `mfkit.create`)."""

import argparse
import json
import sys

from . import datasets, models, split, tune


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m mfkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("models", help="list the registered models")
    t = sub.add_parser("tune", help="search a model's parameters on a validation carve-out (Optuna TPE)")
    t.add_argument("model", help="registered model name, e.g. biased-mf")
    t.add_argument("--data", required=True, help="dataset name or file, as `mfkit train --data`")
    t.add_argument("--format", default=None, help="columns of a file, e.g. user,item,rating")
    t.add_argument("--sep", default=",")
    t.add_argument("--header", action="store_true")
    t.add_argument("--split", default="random:0.9", help="split spec; tuning sees the training part only")
    t.add_argument("--preset", default=None)
    t.add_argument("--n-trials", type=int, default=20)
    t.add_argument("--timeout", type=float, default=None, help="seconds")
    t.add_argument("--metric", default="rmse")
    t.add_argument("--valid", type=float, default=0.1, help="fraction of the training part for validation")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--threads", type=int, default=0)
    a = parser.parse_args(argv)
    if a.command == "models":
        for name, summary in models().items():
            print(f"{name:<14} {summary}")
        return 0
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = datasets.load(a.data, format=a.format, sep=a.sep, header=a.header)
    train, _ = split(data, a.split, a.seed)
    best, study = tune(a.model, train, n_trials=a.n_trials, metric=a.metric, valid=a.valid, timeout=a.timeout,
                       preset=a.preset, random_state=a.seed, num_threads=a.threads)
    print(json.dumps({"model": a.model, "metric": a.metric, "best_value": study.best_value, "best_params": best,
                      "trials": len(study.trials)}, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, TypeError, LookupError, RuntimeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
