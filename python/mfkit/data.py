"""Datasets: a user x item matrix with the raw ids of its rows and columns.

A `Dataset` wraps the library's Interactions (CSR by user and by item, with id maps). Build one
from a pandas DataFrame (`from_pandas`, like Surprise's `Dataset.load_from_df`), from a scipy
CSR matrix (`from_csr`), or load a named dataset with `mfkit.datasets.load`.
"""

import numpy as np
import scipy.sparse as sp

from . import _core
from ._arrays import as_csr, csr_parts


def _names(values):
    return [str(v) for v in values]


def _distinct_names(ids, arg, col):
    """Text names of a column's distinct ids; ValueError when two of them read the same (1 and
    "1" in one object column), which would make two users one."""
    names = _names(ids)
    if len(set(names)) != len(names):
        first = {}
        for v, n in zip(ids, names):
            if n in first:
                a = first[n]
                raise ValueError(f"{arg}: column {col!r} holds {a!r} ({type(a).__name__}) and {v!r} "
                                 f"({type(v).__name__}), which read the same as ids; give the column one type")
            first[n] = v
    return names


class Dataset:
    """A sparse users x items matrix with raw ids (`user_ids`, `item_ids`).

    Rows and columns are dense indices 0..n-1; `user_ids[k]` is the raw id of row k. A model
    fitted on a Dataset takes and returns raw ids.
    """

    def __init__(self, core, user_ids=None, item_ids=None, labels=None):
        self._core = core
        self._user_ids = None if user_ids is None else np.asarray(user_ids)
        self._item_ids = None if item_ids is None else np.asarray(item_ids)
        self.labels = labels or {}

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_pandas(cls, df, user="user", item="item", rating=None, timestamp=None, duplicates="last"):
        """A Dataset from a DataFrame's columns (raw ids of any type; ratings default to 1).

        `duplicates` says what a repeated (user, item) pair does: "last" keeps the latest (by
        timestamp when given), "sum" adds the values, "error" refuses them.
        """
        import pandas as pd

        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"df: expected a pandas DataFrame, got {type(df).__name__}")
        for arg, col in (("user", user), ("item", item), ("rating", rating), ("timestamp", timestamp)):
            if col is not None and col not in df.columns:
                raise ValueError(f"{arg}: no column {col!r} in the DataFrame (columns: {list(df.columns)})")
        for arg, col in (("user", user), ("item", item)):
            if df[col].isna().any():
                raise ValueError(f"{arg}: column {col!r} has a missing id at row {int(np.flatnonzero(df[col].isna().to_numpy())[0])}")
        ucodes, uids = pd.factorize(df[user], sort=False)
        icodes, iids = pd.factorize(df[item], sort=False)
        if rating is None:
            values = np.ones(len(df), dtype=np.float32)
        else:
            col = df[rating]
            if not pd.api.types.is_numeric_dtype(col):
                raise TypeError(f"rating: column {rating!r} has dtype {col.dtype}, not numbers")
            values = col.to_numpy(dtype=np.float32)
            bad = ~np.isfinite(values)
            if bad.any():
                r = int(np.flatnonzero(bad)[0])
                raise ValueError(f"rating: column {rating!r} holds {col.iloc[r]!r} at row {r} (values must be finite)")
        times = None
        if timestamp is not None:
            t = df[timestamp]
            if pd.api.types.is_datetime64_any_dtype(t):
                t = t.astype("int64") // 10**9
            times = np.ascontiguousarray(t.to_numpy(), dtype=np.int64)
        core = _core.Interactions.from_coo(
            np.ascontiguousarray(ucodes, dtype=np.int32), np.ascontiguousarray(icodes, dtype=np.int32),
            np.ascontiguousarray(values), times, _distinct_names(uids, "user", user), _distinct_names(iids, "item", item),
            duplicates)
        return cls(core, np.asarray(uids), np.asarray(iids))

    @classmethod
    def from_csr(cls, matrix, user_ids=None, item_ids=None):
        """A Dataset from a users x items scipy sparse matrix; ids default to 0..n-1."""
        m = as_csr(matrix, "matrix")
        for arg, ids, n in (("user_ids", user_ids, m.shape[0]), ("item_ids", item_ids, m.shape[1])):
            if ids is not None and len(ids) != n:
                raise ValueError(f"{arg}: {len(ids)} ids for {n} {'rows' if arg == 'user_ids' else 'columns'}")
            if ids is not None and len(set(_names(ids))) != n:
                raise ValueError(f"{arg}: ids are not unique")
        core = _core.Interactions.from_csr(*csr_parts(m), m.shape[1],
                                           None if user_ids is None else _names(user_ids),
                                           None if item_ids is None else _names(item_ids))
        return cls(core, np.arange(m.shape[0]) if user_ids is None else user_ids,
                   np.arange(m.shape[1]) if item_ids is None else item_ids)

    def _like(self, core):
        """A Dataset over `core`, which shares this one's id maps (a split part)."""
        return Dataset(core, self._user_ids, self._item_ids, self.labels)

    def keyed_like(self, other):
        """This dataset's entries under `other`'s id maps (entries whose user or item `other`
        does not know are dropped): a validation or test part built apart from the training one."""
        if self._core.same_ids(other._core):
            return self
        core, _ = _core.to_ids_of(self._core, other._core)
        return other._like(core)

    # -- views ----------------------------------------------------------------------------------
    @property
    def n_users(self):
        return self._core.n_users

    @property
    def n_items(self):
        return self._core.n_items

    @property
    def nnz(self):
        return self._core.nnz

    @property
    def shape(self):
        return (self.n_users, self.n_items)

    @property
    def user_ids(self):
        """Raw id of each row."""
        if self._user_ids is None:
            self._user_ids = np.asarray(self._core.user_names(), dtype=object)
        return self._user_ids

    @property
    def item_ids(self):
        """Raw id of each column."""
        if self._item_ids is None:
            self._item_ids = np.asarray(self._core.item_names(), dtype=object)
        return self._item_ids

    def to_csr(self):
        """The matrix as a scipy.sparse.csr_matrix (float32)."""
        indptr, indices, values = self._core.csr()
        return sp.csr_matrix((values, indices, indptr), shape=self.shape)

    def to_pandas(self):
        """The entries as a DataFrame of raw ids: user, item, rating (and timestamp)."""
        import pandas as pd

        indptr, indices, values = self._core.csr()
        rows = np.repeat(np.arange(self.n_users), np.diff(indptr))
        frame = {"user": self.user_ids[rows], "item": self.item_ids[indices], "rating": values}
        times = self._core.times()
        if times is not None:
            frame["timestamp"] = times
        return pd.DataFrame(frame)

    def __len__(self):
        return self.nnz

    def __repr__(self):
        return f"mfkit.Dataset({self.n_users} users x {self.n_items} items, {self.nnz} entries)"
