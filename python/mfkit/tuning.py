"""Hyper-parameter search on Optuna: TPE sampling, median pruning through the epoch callback,
validation carved out of the training part only (the test part is never looked at)."""

import json
import math

from . import _core
from .data import Dataset
from .models import _seed, create, entry


def default_space(model_name):
    """{parameter: (low, high, log)} searched by default: the registry's search space of the model."""
    return {k: (v["lo"], v["hi"], v["log"]) for k, v in entry(model_name)["search_space"].items()}


def tune(model_name, data, space=None, n_trials=20, metric="rmse", valid=0.1, timeout=None, preset=None,
         fixed=None, random_state=1, num_threads=0, show_progress=False):
    """Searches `space` ({name: (low, high[, log])} or {name: [choices]}; default: the model's
    registered search space) for the best `metric` on a `valid` fraction carved from `data`
    (a mfkit.Dataset or CSR matrix, the training part only). `metric` is "rmse" (rating models;
    trials are pruned per epoch by Optuna's median pruner) or a ranking metric at 10 ("ndcg",
    "auc", "map", "precision", "recall", "hit_rate", "expected_percentile_rank" pooled over held-out
    items, "mean_user_percentile_rank" its mean over users; both lower is better).

    Returns (best_params, study): best_params is ready for `mfkit.create(model_name, **best_params)`.
    """
    import optuna

    from .evaluation import _wrap, evaluate, ranking_metrics_at_k

    if not 0 < valid < 1:
        raise ValueError(f"valid: expected a fraction in (0, 1), got {valid!r}")
    space = default_space(model_name) if space is None else space
    if not space:
        raise ValueError(f"space: model {model_name!r} has no default search space; pass one")
    types = {p["name"]: p["type"] for p in entry(model_name)["params"]}
    for name in space:
        if name not in types:
            raise ValueError(f"space: {model_name} has no parameter {name!r} (parameters: {', '.join(types)})")
    core, rebuild = _wrap(data)
    train_core, valid_core = _core.carve_validation(core, valid, _seed(random_state))
    if isinstance(data, Dataset):
        train, held = data._like(train_core), data._like(valid_core)
    else:
        train, held = rebuild(train_core), rebuild(valid_core)
    minimize = metric in ("rmse", "mae", "expected_percentile_rank", "mean_user_percentile_rank")

    def objective(trial):
        params = dict(fixed or {})
        for name, rng in space.items():
            if isinstance(rng, list):
                params[name] = trial.suggest_categorical(name, rng)
                continue
            lo, hi = rng[0], rng[1]
            log = bool(rng[2]) if len(rng) > 2 else False
            if types[name] == "int":
                params[name] = trial.suggest_int(name, int(lo), int(hi), log=log)
            else:
                params[name] = trial.suggest_float(name, lo, hi, log=log)
        model = create(model_name, preset, random_state=random_state, num_threads=num_threads, **params)
        use_valid = metric == "rmse" and not model.implicit

        def report(epoch, seconds, loss):
            h = model.history[-1] if model.history else {}
            if use_valid and h.get("valid_rmse") is not None:
                trial.report(h["valid_rmse"], epoch)
                if trial.should_prune():
                    return False
            return True

        model.fit(train, show_progress=show_progress, callback=report, valid=held if use_valid else None)
        if use_valid and trial.should_prune():
            raise optuna.TrialPruned()
        scores = evaluate(model, held) if metric in ("rmse", "mae") else ranking_metrics_at_k(model, train, held)
        if metric not in scores:
            raise ValueError(f"metric: unknown metric {metric!r}; known: {', '.join(sorted(scores))}")
        value = scores[metric]
        if not math.isfinite(value):
            raise optuna.TrialPruned()
        return value

    study = optuna.create_study(direction="minimize" if minimize else "maximize",
                                sampler=optuna.samplers.TPESampler(seed=_seed(random_state) % 2**32),
                                pruner=optuna.pruners.MedianPruner(n_warmup_steps=2))
    study.optimize(objective, n_trials=n_trials, timeout=timeout)
    best = dict(fixed or {})
    best.update(study.best_params)
    return best, study
