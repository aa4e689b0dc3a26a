"""Splits and metrics, bound from the library (the same code as `mfkit train --split` and
`mfkit eval`): nothing is re-computed in Python.

Functions take a `mfkit.Dataset` (parts keep its raw ids) or a scipy CSR matrix (parts are CSR
matrices of the same shape), so both implicit-style and Surprise-style scripts work.
"""

import json

import numpy as np

from . import _core
from ._arrays import as_csr, csr_parts, float_array
from .data import Dataset
from .models import Model, _seed, _threads, create


def _wrap(data, name="data"):
    """(core Interactions, rebuild) where rebuild turns a core part back into data's kind."""
    if isinstance(data, Dataset):
        return data._core, data._like
    m = as_csr(data, name)
    core = _core.Interactions.from_csr(*csr_parts(m), m.shape[1], None, None)

    def rebuild(part):
        return Dataset(part).to_csr()

    return core, rebuild


def split(data, spec="random:0.9", random_state=1, folder=""):
    """(train, test) by one of the CLI's split specs: "random:0.9", "kfold:5:2", "user:0.2",
    "loo[:99]", or "u1".."u5"/"ua"/"ub" (MovieLens-100K, with `folder`). Both parts keep the
    input's shape and ids."""
    core, rebuild = _wrap(data)
    s = _core.make_split(core, spec, _seed(random_state), folder)
    return rebuild(s.train), rebuild(s.test)


def train_test_split(ratings, train_percentage=0.8, random_state=None):
    """implicit's train_test_split: a random `train_percentage` of the entries for training."""
    if not 0 < train_percentage < 1:
        raise ValueError(f"train_percentage: expected a fraction in (0, 1), got {train_percentage!r}")
    return split(ratings, f"random:{train_percentage!r}", random_state)


def leave_one_out(data, negatives=99, random_state=1):
    """The NCF protocol: each user's last entry (by timestamp, else a seeded random one) held out,
    with `negatives` sampled unseen items per user. Returns (train, test, negatives), negatives
    as a list of int arrays (dense item indices) per user."""
    core, rebuild = _wrap(data)
    s = _core.make_split(core, f"loo:{int(negatives)}", _seed(random_state), "")
    return rebuild(s.train), rebuild(s.test), [np.asarray(n, dtype=np.int32) for n in s.negatives]


def _pair(predicted, actual, name):
    p, a = float_array(predicted, "predicted"), float_array(actual, "actual")
    if p.size == 0 and a.size == 0:
        raise ValueError(f"{name}: no values (predicted and actual are empty)")
    return p, a


def rmse(predicted, actual):
    """Root mean squared error of two equal-length, non-empty arrays."""
    return _core.rmse(*_pair(predicted, actual, "rmse"))


def mae(predicted, actual):
    """Mean absolute error of two equal-length, non-empty arrays."""
    return _core.mae(*_pair(predicted, actual, "mae"))


def _test_core(model, test, st):
    """`test` in the ids of the model state `st` (read once by the caller, so that a fit in
    another thread cannot swap the model between this and the evaluation)."""
    if isinstance(test, Dataset):
        if st.ids != "raw":
            raise TypeError("test: the model was fitted on a CSR matrix; pass a CSR matrix")
        return _core.to_model_ids(test._core, st.core)[0]
    if st.ids == "raw":
        raise TypeError("test: the model was fitted on a Dataset; pass a Dataset")
    m = as_csr(test, "test")
    if m.shape != (st.core.n_users, st.core.n_items):
        raise ValueError(f"test: shape {m.shape} differs from the model's {(st.core.n_users, st.core.n_items)}")
    return _core.Interactions.from_csr(*csr_parts(m), m.shape[1], None, None)


def _state(model):
    if not isinstance(model, Model):
        raise TypeError(f"model: expected an mfkit model, got {type(model).__name__}")
    st = model._state
    model._need_fit(st)
    return st


def evaluate(model, test):
    """Rating metrics of `model` on `test`: {"rmse", "mae", "n"}."""
    st = _state(model)
    return json.loads(_core.evaluate_rating(st.core, _test_core(model, test, st)))


def ranking_metrics_at_k(model, train_user_items, test_user_items, K=10, show_progress=False, num_threads=0,
                         random_state=1):
    """Ranking metrics at K over the users with test items, training items filtered (the CLI's
    `eval` on implicit data): precision, recall, ndcg, map, hit_rate, auc and
    expected_percentile_rank (Hu, Koren and Volinsky's rank, pooled; lower is better)."""
    st = _state(model)
    test = _test_core(model, test_user_items, st)
    train = _test_core(model, train_user_items, st)
    if not isinstance(K, (int, np.integer)) or K < 1:
        raise ValueError(f"K: expected a positive count, got {K!r}")
    return json.loads(_core.evaluate_ranking(st.core, train, test, int(K), _threads(num_threads),
                                             _seed(random_state)))


def cross_validate(model, data, cv=5, measures=("rmse", "mae"), random_state=1, verbose=False, **fit_args):
    """Surprise's cross_validate: fits a fresh copy of `model` (a model or a registered name)
    on each of `cv` folds ("kfold:cv:f" splits) and returns {"test_<measure>": array, "fit_time":
    array} with one entry per fold. Ranking measures (ndcg, auc, ...) use K=10."""
    import time

    out = {f"test_{m}": [] for m in measures}
    out["fit_time"] = []
    for fold in range(cv):
        train, test = split(data, f"kfold:{cv}:{fold}", random_state)
        m = create(model) if isinstance(model, str) else type(model)(**model.get_params())
        t = time.perf_counter()
        m.fit(train, show_progress=False, **fit_args)
        out["fit_time"].append(time.perf_counter() - t)
        scores = {}
        if any(x in ("rmse", "mae") for x in measures):
            scores.update(evaluate(m, test))
        if any(x not in ("rmse", "mae") for x in measures):
            scores.update(ranking_metrics_at_k(m, train, test))
        for x in measures:
            if x not in scores:
                raise ValueError(f"measures: unknown measure {x!r}; known: {', '.join(sorted(scores))}")
            out[f"test_{x}"].append(scores[x])
        if verbose:
            print(f"fold {fold + 1}/{cv}: " + ", ".join(f"{x} {scores[x]:.4f}" for x in measures))
    return {k: np.asarray(v) for k, v in out.items()}

