"""Model classes, one per registered model, generated from the C++ registry at import.

Every class takes the parameter struct's own keywords (names, defaults, ranges and help text all
come from the registry, so nothing is listed here), plus `num_threads` (0 = all cores) and
`random_state`. `ImplicitALS` and `BPR` also take the `implicit` library's keywords with
implicit's meaning, so `implicit.als.AlternatingLeastSquares(...)` and
`implicit.bpr.BayesianPersonalizedRanking(...)` calls work as written.

A model fitted on a scipy CSR matrix works in indices (user/item ids are row/column numbers, as
in implicit); one fitted on a `mfkit.Dataset` works in the dataset's raw ids.
"""

import inspect
import keyword
import json
import os
import threading
import warnings
from typing import NamedTuple

import numpy as np

from . import _core
from ._arrays import as_csr, csr_parts, float_array, index_array
from .data import Dataset

# implicit's keyword -> (mfkit parameter, conversion). Any of these (or `use_native`, `dtype`,
# `use_gpu`) marks an implicit-style call, whose confidence is implicit's c = alpha * r.
_IMPLICIT_KEYWORDS = {
    "implicit-als": {
        "regularization": ("reg", float),
        "use_cg": ("solver", lambda v: "cg" if v else "cholesky"),
        "calculate_training_loss": ("compute_loss", bool),
    },
    "bpr": {  # implicit.bpr.BayesianPersonalizedRanking
        "regularization": ("reg", float),
        "iterations": ("epochs", int),
        "verify_negative_samples": ("verify_negatives", bool),
    },
}
_IMPLICIT_IGNORED = ("use_native", "dtype", "use_gpu", "iteration_callback")
_COMMON = ("num_threads", "random_state")
_PY_TYPES = {"int": (int,), "float": (int, float), "bool": (bool,), "string": (str,)}


_MAX_THREADS = 256  # as the CLI's --threads


def _cpus():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _threads(n):
    """Threads for one call: 0 or None = every CPU this process may use; a larger count than the
    CPUs is lowered to them (oversubscribed OpenMP loops only spin), past 256 refused."""
    if n is None or n == 0:
        return _cpus()
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0 or n > _MAX_THREADS:
        raise ValueError(f"num_threads: expected 0 (all cores) or a count in [1, {_MAX_THREADS}], got {n!r}")
    return min(int(n), _cpus())


def _seed(random_state):
    if random_state is None:
        return int(np.random.default_rng().integers(1, 2**62))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(1, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(1, 2**62))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) and random_state >= 0:
        return int(random_state)
    raise TypeError(f"random_state: expected None, a non-negative int or a numpy RandomState/Generator, got {random_state!r}")


def _plain(value):
    """numpy scalars as Python ones, so they reach the core as JSON numbers."""
    return value.item() if isinstance(value, np.generic) else value


class _State(NamedTuple):
    """What a model answers from, replaced whole (one attribute assignment) by a writer, so a
    method that reads it once sees one consistent model, whatever other threads do meanwhile."""
    core: object      # _core.Model: the compiled model (its own lock orders reads and in-place writes)
    ids: str          # "index" (fitted on a CSR matrix) or "raw" (on a Dataset)
    user_ids: object  # raw ids in raw mode (numpy arrays of the dataset's dtype), else None
    item_ids: object


class Model:
    """Base class of every mfkit model (use a generated subclass or `mfkit.create`)."""

    _entry = None  # the registry entry of the subclass

    def __init__(self, preset=None, **kwargs):
        entry = self._entry
        if entry is None:
            raise TypeError("mfkit.Model is abstract: use mfkit.create(name) or a model class such as mfkit.ImplicitALS")
        self._attach(None)
        params = self._struct_params(kwargs)
        self._attach(_core.Model.create(entry["name"], preset or "", json.dumps(params)),
                     num_threads=self.num_threads, random_state=self.random_state)

    def _attach(self, core, ids="index", user_ids=None, item_ids=None, num_threads=0, random_state=None):
        """Sets every attribute of a model over `core` (a new one, or one loaded from a file)."""
        self.num_threads = num_threads
        self.random_state = random_state
        self._state = _State(core, ids, user_ids, item_ids)
        self._writing = threading.RLock()  # one writer at a time (fit, partial_fit_users, set_params, index)
        self.history = []            # one dict per epoch of the last fit

    # The current state's parts (each read on its own; methods that use several read _state once).
    @property
    def _core(self):
        return self._state.core

    @property
    def _ids(self):
        return self._state.ids

    # -- parameters -----------------------------------------------------------------------------
    def _struct_params(self, kwargs):
        entry = self._entry
        known = {p["name"]: p for p in entry["params"]}
        aliases = _IMPLICIT_KEYWORDS.get(entry["name"], {})
        params, implicit_style = {}, False
        for key, value in kwargs.items():
            value = _plain(value)
            if key.endswith("_") and keyword.iskeyword(key[:-1]):
                key = key[:-1]  # lambda_=... for the parameter named lambda
            if key in _COMMON:
                if key == "num_threads":
                    _threads(value)  # checks it
                elif value is not None and not isinstance(value, (np.random.RandomState, np.random.Generator)):
                    _seed(value)
                setattr(self, key, value)
            elif key in known:
                self._check_type(known[key], value)
                params[key] = value
            elif key in aliases:
                name, conv = aliases[key]
                params[name] = conv(value)
                implicit_style = True
            elif aliases and key in _IMPLICIT_IGNORED:
                implicit_style = True
                if key == "use_gpu" and value:
                    raise ValueError("use_gpu: mfkit runs on the CPU only; pass use_gpu=False")
                if key == "dtype" and np.dtype(value) != np.float32:
                    warnings.warn(f"dtype: mfkit computes in float32, not {np.dtype(value)}", stacklevel=4)
                if key == "iteration_callback":
                    raise TypeError("iteration_callback: pass the callback to fit(callback=...) instead")
            else:
                valid = sorted(known) + sorted(aliases) + list(_COMMON)
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {key!r}; "
                                f"valid keywords: {', '.join(valid)}")
        if implicit_style and "confidence" in known and "confidence" not in kwargs:
            params["confidence"] = "implicit"
        return params

    @staticmethod
    def _check_type(info, value):
        types = _PY_TYPES.get(info["type"])
        if types is None:
            return
        if isinstance(value, bool) and info["type"] != "bool" or not isinstance(value, types):
            raise TypeError(f"{info['name']}: expected {info['type']}, got {type(value).__name__} {value!r}")

    @property
    def params(self):
        """Every parameter of the model, by its struct name, with its current value."""
        return json.loads(self._core.params_json())

    def get_params(self, deep=True):
        """Parameters as a dict (scikit-learn convention), including num_threads and random_state."""
        p = self.params
        p.update(num_threads=self.num_threads, random_state=self.random_state)
        return p

    def set_params(self, **kwargs):
        """Changes the given parameters (same keywords as the constructor); returns self."""
        params = self._struct_params(kwargs)
        if params:
            with self._writing:
                self._core.set_params_json(json.dumps(params))
        return self

    # -- state ----------------------------------------------------------------------------------
    @property
    def fitted(self):
        """True once fit has run or the model came from a file."""
        return self._core.fitted

    @property
    def implicit(self):
        """True for implicit-feedback models (every cell counts), False for rating models."""
        return self._core.implicit

    @property
    def n_users(self):
        """Users (rows) the model was fitted on."""
        return self._core.n_users

    @property
    def n_items(self):
        """Items (columns) the model was fitted on."""
        return self._core.n_items

    def _need_fit(self, st=None):
        if not (st or self._state).core.fitted:
            raise ValueError(f"{type(self).__name__}: the model is not fitted yet (call fit, or mfkit.load a model file)")

    @property
    def user_factors(self):
        """Users x factors as a float32 numpy array (a copy)."""
        self._need_fit()
        return self._core.user_vectors()

    @property
    def item_factors(self):
        """Items x factors as a float32 numpy array (a copy)."""
        self._need_fit()
        return self._core.item_vectors()

    @property
    def user_ids(self):
        """Raw id of each user row (raw mode), or None (index mode)."""
        return self._state.user_ids

    @property
    def item_ids(self):
        """Raw id of each item column (raw mode), or None (index mode)."""
        return self._state.item_ids

    # -- fit ------------------------------------------------------------------------------------
    def _as_data(self, data, name):
        if isinstance(data, Dataset):
            return data._core, "raw"
        m = as_csr(data, name)
        return _core.Interactions.from_csr(*csr_parts(m), m.shape[1], None, None), "index"

    def fit(self, user_items, show_progress=True, callback=None, valid=None, num_threads=None):
        """Fits the model on a users x items scipy CSR matrix (ids are indices) or a Dataset
        (ids are its raw ids); returns self.

        `callback(epoch, seconds, loss)` runs after every epoch (counted from 1) and stops the
        fit by returning False. `valid` (same kind as `user_items`) is scored each epoch (RMSE, rating models) and
        used for early stopping where the model supports it. Ctrl-C stops within an epoch and
        raises KeyboardInterrupt. `num_threads` overrides the model's for this call. A Dataset's
        labels (item titles, categories: `mfkit.datasets.load` reads them) reach the models that
        use them (ShallowNet's architectures 4 and 5).
        """
        train, mode = self._as_data(user_items, "user_items")
        valid_core = None
        if valid is not None:
            if isinstance(valid, Dataset) != (mode == "raw"):
                raise TypeError("valid: pass the same kind as user_items (both Dataset, or both CSR)")
            if mode == "raw":
                valid_core = valid.keyed_like(user_items)._core
            else:
                valid_core, _ = self._as_data(valid, "valid")
                if (valid_core.n_users, valid_core.n_items) != (train.n_users, train.n_items):
                    raise ValueError(f"valid: shape {(valid_core.n_users, valid_core.n_items)} differs from "
                                     f"user_items' {(train.n_users, train.n_items)}")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback: expected a callable(epoch, seconds, loss), got {type(callback).__name__}")
        self.history = []
        bar = None
        if show_progress:
            try:
                from tqdm.auto import tqdm
                bar = tqdm(unit="epoch", desc=type(self).__name__)
            except ImportError:
                bar = None

        def on_epoch(epoch, epochs, seconds, loss, valid_rmse):
            self.history.append({"epoch": epoch, "seconds": seconds, "loss": loss, "valid_rmse": valid_rmse})
            if bar is not None:
                bar.total = epochs
                post = {"loss": f"{loss:.5g}"} if loss is not None else {}
                if valid_rmse is not None:
                    post["valid_rmse"] = f"{valid_rmse:.4f}"
                bar.set_postfix(post, refresh=False)
                bar.update(1)
            if callback is not None:
                return callback(epoch, seconds, loss) is not False
            return True

        # A new model is fitted beside this one, which keeps answering other threads until the new
        # one replaces it whole.
        with self._writing:
            try:
                labels = user_items.labels if isinstance(user_items, Dataset) and user_items.labels else None
                core = self._core.fit_new(train, valid_core,
                                          _threads(self.num_threads if num_threads is None else num_threads),
                                          _seed(self.random_state), on_epoch, labels)
            finally:
                if bar is not None:
                    bar.close()
            if mode == "raw":
                self._state = _State(core, mode, user_items.user_ids, user_items.item_ids)
            else:
                self._state = _State(core, mode, None, None)
        return self

    # -- ids ------------------------------------------------------------------------------------
    def _users(self, st, userid, name="userid"):
        """Dense user indices (int32, 1-D) of `userid` in state `st`; NotFoundError for unknown raw ids."""
        return self._lookup(st, userid, name, "user")

    def _items(self, st, itemid, name="itemid"):
        return self._lookup(st, itemid, name, "item")

    @staticmethod
    def _lookup(st, ids, name, kind, unknown="raise"):
        if st.ids == "index":
            return index_array(ids, st.core.n_users if kind == "user" else st.core.n_items, name)
        raw = np.asarray(ids).reshape(-1)
        find = st.core.lookup_users if kind == "user" else st.core.lookup_items
        dense = find([str(_plain(v)) for v in raw])
        if unknown == "raise" and (dense < 0).any():
            bad = raw[np.flatnonzero(dense < 0)[0]]
            raise _core.NotFoundError(f"{name}: unknown {kind} id {bad!r} (not in the training data)")
        return dense

    def _to_raw(self, st, ids, side):
        """Dense indices as the caller's ids: raw ids in raw mode, where padding (-1) is None."""
        if st.ids == "index":
            return ids
        raw = st.user_ids if side == "user" else st.item_ids
        if side == "user" and ids.size and ids.max() >= len(raw):
            # Users added by partial_fit_users after `st` was read: their ids are appended to the
            # newest state before the model holds them, so the newest list covers them.
            raw = self._state.user_ids
        ok = ids >= 0
        out = np.empty(ids.shape, dtype=raw.dtype if ok.all() else object)
        out[ok] = raw[ids[ok]]
        if not ok.all():
            out[~ok] = None
        return out

    # -- predict and recommend ------------------------------------------------------------------
    def predict(self, users, items):
        """Predicted values for (user, item) pairs, as float32 (vectorised, like Surprise's
        `predict` over many pairs). In raw mode an unknown id falls back to the model's biases or
        mean, as the CLI's `predict` does."""
        st = self._state
        self._need_fit(st)
        scalar = np.ndim(users) == 0 and np.ndim(items) == 0
        u = self._lookup(st, users, "users", "user", unknown="fallback")
        i = self._lookup(st, items, "items", "item", unknown="fallback")
        if u.size != i.size:
            raise ValueError(f"predict: users has {u.size} entries but items {i.size}")
        out = st.core.predict(u, i)
        return float(out[0]) if scalar else out

    @staticmethod
    def _user_items(st, user_items):
        """`user_items` as CSR with one column per item of the model."""
        m = as_csr(user_items, "user_items")
        if m.shape[1] != st.core.n_items:
            raise ValueError(f"user_items: {m.shape[1]} columns, but the model has {st.core.n_items} items")
        return m

    def _seen_rows(self, st, user_items, n_ids, users):
        """(indptr, indices, data) with one row per requested user from `user_items` (the rows
        `users()` of a full training-shaped matrix)."""
        m = self._user_items(st, user_items)
        if m.shape[0] != n_ids:
            if m.shape[0] == st.core.n_users:
                m = m[users()]  # the full training-shaped matrix: take the requested rows
            else:
                raise ValueError(f"user_items: {m.shape[0]} rows for {n_ids} userid; pass one row per user "
                                 f"(user_items[userid]) or the full {st.core.n_users}-row matrix")
        return csr_parts(m)

    def recommend(self, userid, user_items=None, N=10, filter_already_liked_items=True, filter_items=None,
                  recalculate_user=False, items=None, num_threads=None, exact=False):
        """The N best items for one user (1-D ids and scores) or for an array of users (2-D).

        As in implicit: `user_items` holds the users' interactions, one row per user in
        `userid` (the model's own training rows are used when it is None), filtered when
        `filter_already_liked_items`; `filter_items` are never returned; `items` restricts the
        ranking to those items; `recalculate_user` folds the users in from `user_items` (so
        users the model has never seen can be served). Returns (ids int32, scores float32); a
        2-D row with fewer than N surviving items is padded with id -1 and score -inf. With an
        approximate index (`build_index`), known users are answered through it unless `exact`;
        folded-in users are always scored exactly.
        """
        st = self._state
        self._need_fit(st)
        scalar = np.ndim(userid) == 0
        if not isinstance(N, (int, np.integer)) or N < 1:
            raise ValueError(f"N: expected a positive count, got {N!r}")
        exclude = None if filter_items is None else self._items(st, filter_items, "filter_items")
        cand = None if items is None else self._items(st, items, "items")
        limit = st.core.n_items if cand is None else len(np.unique(cand))
        k = int(min(N, limit))
        threads = _threads(self.num_threads if num_threads is None else num_threads)
        if recalculate_user:
            if user_items is None:
                raise ValueError("user_items: recalculate_user=True needs the users' interactions")
            n = 1 if scalar else len(np.asarray(userid).reshape(-1))
            ptr, idx, val = self._seen_rows(st, user_items, n, lambda: self._users(st, userid))  # new users allowed
            ids, scores = st.core.recommend_folded(ptr, idx, val, k, filter_already_liked_items, exclude, cand,
                                                   threads)
        else:
            users = self._users(st, userid)
            ptr = idx = None
            if user_items is not None and filter_already_liked_items:
                ptr, idx, _ = self._seen_rows(st, user_items, len(users), lambda: users)
            ids, scores = st.core.recommend(users, k, filter_already_liked_items, exclude, cand, ptr, idx, threads,
                                            bool(exact))
        if scalar:
            keep = ids[0] >= 0
            return self._to_raw(st, ids[0][keep], "item"), scores[0][keep]
        return self._to_raw(st, ids, "item"), scores

    def recalculate_user(self, userid, user_items):
        """Factors of a user computed from `user_items` (one row) by the model's fold-in, without
        changing the model; for several users, one row each (2-D result)."""
        st = self._state
        self._need_fit(st)
        m = self._user_items(st, user_items)
        scalar = np.ndim(userid) == 0
        n = 1 if scalar else len(np.asarray(userid).reshape(-1))
        if m.shape[0] != n:
            raise ValueError(f"user_items: {m.shape[0]} rows for {n} userid")
        ptr, idx, val = csr_parts(m)
        rows = [st.core.fold_in_user(idx[ptr[r]:ptr[r + 1]], val[ptr[r]:ptr[r + 1]]) for r in range(n)]
        return rows[0] if scalar else np.vstack(rows)

    def partial_fit_users(self, userids, user_items, num_threads=None):
        """Refits the vectors of `userids` from `user_items` (one row each) with the items fixed,
        and keeps them, as implicit's `partial_fit_users`: the rows become those users' seen
        items. Ids past the model's users add users (index mode: every index up to the largest,
        those without a row starting from zero; raw mode: unknown raw ids, appended in order).
        A repeated id takes its last row. Returns self."""
        with self._writing:
            return self._partial_fit_users(userids, user_items, num_threads)

    def _partial_fit_users(self, userids, user_items, num_threads):
        st = self._state
        self._need_fit(st)
        m = self._user_items(st, user_items)
        raw = np.asarray(userids).reshape(-1)
        if m.shape[0] != raw.size:
            raise ValueError(f"user_items: {m.shape[0]} rows for {raw.size} userids (pass one row per user)")
        added = []
        if st.ids == "index":
            if raw.dtype.kind not in "iu":
                raise TypeError(f"userids: expected integer indices, got dtype {raw.dtype}")
            if raw.size and (raw.min() < 0 or raw.max() >= np.iinfo(np.int32).max):
                bad = raw[(raw < 0) | (raw >= np.iinfo(np.int32).max)][0]
                raise ValueError(f"userids: index {int(bad)} is negative or past the int32 range")
            dense = np.ascontiguousarray(raw, dtype=np.int32)
        else:
            dense = self._lookup(st, raw, "userids", "user", unknown="keep")
            new = {}
            for k in np.flatnonzero(dense < 0):
                key = str(_plain(raw[k]))
                if key not in new:
                    new[key] = st.core.n_users + len(new)
                    added.append(raw[k])
                dense[k] = new[key]
        added = np.asarray(added)
        if added.size and (added.dtype.kind in "iu") != (st.user_ids.dtype.kind in "iu"):
            raise TypeError(f"userids: new ids of dtype {added.dtype} for a model whose user ids are "
                            f"{st.user_ids.dtype}")
        ptr, idx, val = csr_parts(m)
        threads = _threads(self.num_threads if num_threads is None else num_threads)
        # New users' raw ids are published before the model holds them: a reader that finds a new
        # index in an answer finds its raw id too (see _to_raw); one that asks for a new raw id
        # early is told it is unknown, as it was.
        if added.size:
            self._state = st._replace(user_ids=np.concatenate([st.user_ids, added]))
        try:
            st.core.update_users(dense, ptr, idx, val, [str(_plain(v)) for v in added], threads)
        except BaseException:
            self._state = st
            raise
        return self

    def _similar(self, ident, N, filter_items, items, side, exact=True):
        st = self._state
        self._need_fit(st)
        scalar = np.ndim(ident) == 0
        if not isinstance(N, (int, np.integer)) or N < 1:
            raise ValueError(f"N: expected a positive count, got {N!r}")
        dense = self._lookup(st, ident, "itemid" if side == "item" else "userid", side)
        exclude = None if filter_items is None else self._lookup(st, filter_items, f"filter_{side}s", side)
        cand = None if items is None else self._lookup(st, items, f"{side}s", side)
        if side == "item":
            ids, scores = st.core.similar_items(dense, int(N), exclude, cand, bool(exact))  # the query left out
        else:
            ids, scores = st.core.similar_users(dense, int(N), exclude, cand)
        # implicit's convention: the query itself comes first (cosine 1) when the filters allow it.
        self_ok = np.ones(len(dense), dtype=bool)
        if exclude is not None:
            self_ok &= ~np.isin(dense, exclude)
        if cand is not None:
            self_ok &= np.isin(dense, cand)
        ids = np.where(self_ok[:, None], np.hstack([dense[:, None], ids[:, :-1]]), ids)
        scores = np.where(self_ok[:, None], np.hstack([np.ones((len(dense), 1), np.float32), scores[:, :-1]]), scores)
        if scalar:
            keep = ids[0] >= 0
            return self._to_raw(st, ids[0][keep], side), scores[0][keep]
        return self._to_raw(st, ids, side), scores

    def similar_items(self, itemid, N=10, recalculate_item=False, item_users=None, filter_items=None, items=None,
                      exact=False):
        """The N items most similar to `itemid` by cosine of item factors, itself first (as in
        implicit); 1-D for one id, 2-D for an array. `filter_items` are dropped, `items`
        restricts the answer. With an approximate index, through its cosine graph unless `exact`."""
        if recalculate_item:
            raise ValueError("recalculate_item: item fold-in is not supported; pass recalculate_item=False")
        return self._similar(itemid, N, filter_items, items, "item", exact)

    def build_index(self, num_threads=None, **params):
        """Builds the approximate top-N index (HNSW) of a fitted factor model; `save` stores it
        with the model and `recommend` / `similar_items` use it (see docs/ann.md)."""
        self._need_fit()
        unknown = set(params) - {p["name"] for p in INDEX_PARAMS}
        if unknown:
            raise TypeError(f"build_index: unknown parameter(s) {', '.join(sorted(unknown))}; "
                            f"valid: {', '.join(p['name'] for p in INDEX_PARAMS)}")
        threads = _threads(self.num_threads if num_threads is None else num_threads)
        with self._writing:
            self._core.build_index(json.dumps(params), threads)
        return self

    def drop_index(self):
        """Removes the approximate index: every answer becomes an exact scan again."""
        self._need_fit()
        with self._writing:
            self._core.drop_index()
        return self

    @property
    def index(self):
        """The approximate index's parameters (a dict), or None when the model has none."""
        core = self._core
        p = core.index_params_json() if core.fitted else ""
        return json.loads(p) if p else None

    def similar_users(self, userid, N=10, filter_users=None, users=None):
        """The N users most similar to `userid` by cosine of user factors, itself first."""
        return self._similar(userid, N, filter_users, users, "user")

    def explain(self, userid, user_items=None, itemid=None, user_weights=None, N=10):
        """Why `itemid` is recommended to `userid`: (score, [(item, contribution), ...], None),
        the items of the user's history that contribute most, largest first (Hu, Koren and
        Volinsky, section 5). `user_items` is accepted for implicit's signature; the model's own
        training rows are used."""
        st = self._state
        self._need_fit(st)
        if itemid is None:
            raise TypeError("explain: itemid is required")
        u = int(self._users(st, userid)[0])
        i = int(self._items(st, itemid)[0])
        score = float(st.core.predict(np.array([u], np.int32), np.array([i], np.int32))[0])
        top = st.core.explain(u, i, int(N))
        ids = self._to_raw(st, np.array([t[0] for t in top], dtype=np.int32), "item")
        return score, [(_plain(a), float(b)) for a, (_, b) in zip(ids, top)], None

    # -- files ----------------------------------------------------------------------------------
    def save(self, path):
        """Writes the model to `path` in mfkit's model-file format (atomically): the CLI's
        `mfkit serve`, `recommend` and `predict` read it, and `mfkit.load` reads it back."""
        st = self._state
        self._need_fit(st)
        meta = {"python": {"ids": st.ids}}
        if st.ids == "raw":
            meta["python"]["user_dtype"] = st.user_ids.dtype.kind
            meta["python"]["item_dtype"] = st.item_ids.dtype.kind
        st.core.save(os.fspath(path), json.dumps(meta))

    @classmethod
    def load(cls, path):
        """A model of this class from a model file (implicit's `Model.load(path)`); see mfkit.load."""
        model = load(path)
        if cls is not Model and not isinstance(model, cls):
            raise _core.ModelFileError(f"{path}: holds a {type(model).__name__} model, not {cls.__name__}")
        return model

    def __repr__(self):
        shown = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"mfkit.{type(self).__name__}({shown})"

    def __getstate__(self):
        raise TypeError(f"{type(self).__name__} cannot be pickled; use model.save(path) and mfkit.load(path)")


# -- generation from the registry ---------------------------------------------------------------
REGISTRY = json.loads(_core.registry())
INDEX_PARAMS = json.loads(_core.index_params())
_BY_NAME = {}


def _docstring(entry):
    lines = [entry["summary"], "", f"Registered as {entry['name']!r}; presets: "
             f"{', '.join(entry['presets']) or 'none'}.", "", "Parameters", "----------"]
    for p in entry["params"]:
        name = p["name"] + "_" if keyword.iskeyword(p["name"]) else p["name"]
        lines.append(f"{name} : {p['type']}, default {p['default']}")
        lines.append(f"    {p['help']}" + (f" ({p['allowed']})" if p.get("allowed") else ""))
    aliases = _IMPLICIT_KEYWORDS.get(entry["name"])
    if aliases:
        lines.append(", ".join(list(aliases) + ["use_native", "dtype", "use_gpu"]))
        lines.append("    implicit's keywords, with implicit's meaning" +
                     (" (and its confidence c = alpha * r)" if any(p["name"] == "confidence" for p in entry["params"]) else ""))
    lines.append("num_threads : int, default 0")
    lines.append("    threads for fit and recommend (0 = all cores)")
    lines.append("random_state : int or numpy RandomState/Generator, default None")
    lines.append("    seed of every random choice (None: a fresh one per fit)")
    return "\n".join(lines)


def _signature(entry):
    P = inspect.Parameter
    params = [P("self", P.POSITIONAL_OR_KEYWORD), P("preset", P.POSITIONAL_OR_KEYWORD, default=None)]
    for p in entry["params"]:
        name = p["name"] + "_" if keyword.iskeyword(p["name"]) else p["name"]
        params.append(P(name, P.KEYWORD_ONLY, default=p["default"]))
    for alias in _IMPLICIT_KEYWORDS.get(entry["name"], {}):
        params.append(P(alias, P.KEYWORD_ONLY, default=None))
    params += [P("num_threads", P.KEYWORD_ONLY, default=0), P("random_state", P.KEYWORD_ONLY, default=None)]
    return inspect.Signature(params)


def _make_class(entry):
    cls = type(entry["class_name"], (Model,), {"_entry": entry, "__doc__": _docstring(entry),
                                               "__module__": "mfkit"})
    cls.__init__ = lambda self, preset=None, **kw: Model.__init__(self, preset, **kw)
    cls.__init__.__signature__ = _signature(entry)
    cls.__init__.__doc__ = cls.__doc__
    return cls


Model.build_index.__doc__ += "\n\nParameters\n----------\nnum_threads : int, default None\n    build threads\n" + "\n".join(
    f"{p['name']} : {p['type']}, default {p['default']}\n    {p['help']}" + (f" ({p['allowed']})" if p.get("allowed") else "")
    for p in INDEX_PARAMS)

CLASSES = {}
for _entry in REGISTRY:
    CLASSES[_entry["class_name"]] = _BY_NAME[_entry["name"]] = _make_class(_entry)


def models():
    """{registered name: summary} of every model."""
    return {e["name"]: e["summary"] for e in REGISTRY}


def entry(name):
    """The registry entry (parameters, presets, search space) of a registered model."""
    if name not in _BY_NAME:
        raise ValueError(f"name: unknown model {name!r}; registered: {', '.join(_BY_NAME)}")
    return _BY_NAME[name]._entry


def create(name, preset=None, **params):
    """A model by its registered name ("implicit-als", "nnmf", ...), optionally from a preset,
    with parameters given by keyword."""
    entry(name)  # the error for an unknown name
    return _BY_NAME[name](preset, **params)


def load(path):
    """A model from an mfkit model file (written by `model.save` or by `mfkit train`)."""
    core, meta = _core.Model.load(os.fspath(path))
    meta = json.loads(meta) if meta else {}
    cls = _BY_NAME.get(core.type)
    if cls is None:
        raise _core.ModelFileError(f"{path}: model type {core.type!r} is not registered in this build")
    model = cls.__new__(cls)
    py = meta.get("python", {}) if isinstance(meta, dict) else {}
    ids = py.get("ids", "raw")  # files from the CLI hold raw ids
    if ids == "raw":
        model._attach(core, ids, _restore(core.user_names(), py.get("user_dtype")),
                      _restore(core.item_names(), py.get("item_dtype")))
    else:
        model._attach(core, ids)
    return model


def _restore(names, kind):
    """Raw ids from a model file's names, as integers when they were integers."""
    if kind in ("i", "u"):
        return np.asarray(names).astype(np.int64)
    return np.asarray(names, dtype=object)
