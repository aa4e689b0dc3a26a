"""Argument checks shared by the package: every array that reaches the C++ core passes here,
so a wrong type, shape or value raises TypeError/ValueError naming the argument instead of
reaching the library."""

import warnings

import numpy as np
import scipy.sparse as sp


def as_csr(matrix, name="user_items"):
    """`matrix` as a canonical CSR matrix (sorted columns, no duplicates, finite float32 values).

    CSR is used as it is (copied only when it must change); other scipy sparse formats are
    converted with a warning; dense arrays and anything else are refused.
    """
    if isinstance(matrix, np.ndarray) or isinstance(matrix, np.matrix):
        raise TypeError(
            f"{name}: a dense {matrix.shape} array; mfkit needs a scipy.sparse.csr_matrix "
            f"(users x items, missing cells not stored): pass scipy.sparse.csr_matrix({name})")
    if not sp.issparse(matrix):
        raise TypeError(f"{name}: expected a scipy.sparse.csr_matrix, got {type(matrix).__name__}")
    if matrix.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D matrix, got shape {matrix.shape}")
    if matrix.format != "csr":
        warnings.warn(f"{name}: converting a {matrix.format.upper()} matrix to CSR (pass CSR to avoid the copy)",
                      stacklevel=3)
        matrix = matrix.tocsr()
    if matrix.dtype.kind not in "biuf":
        raise TypeError(f"{name}: values of dtype {matrix.dtype} are not numbers")
    if not matrix.has_canonical_format:
        matrix = matrix.copy()
        matrix.sum_duplicates()
    data = matrix.data
    if data.dtype != np.float32:
        data = data.astype(np.float32)
    bad = ~np.isfinite(data)
    if bad.any():
        e = int(np.flatnonzero(bad)[0])
        row = int(np.searchsorted(matrix.indptr, e, side="right") - 1)
        raise ValueError(f"{name}: the value at row {row}, column {int(matrix.indices[e])} is {data[e]} "
                         "(values must be finite)")
    if data is not matrix.data:
        matrix = sp.csr_matrix((data, matrix.indices, matrix.indptr), shape=matrix.shape)
    return matrix


def csr_parts(matrix):
    """(indptr int64, indices int32, data float32) of a canonical CSR matrix, for the core."""
    return (np.ascontiguousarray(matrix.indptr, dtype=np.int64),
            np.ascontiguousarray(matrix.indices, dtype=np.int32),
            np.ascontiguousarray(matrix.data, dtype=np.float32))


def index_array(ids, size, name):
    """Integer indices in [0, size) as int32; TypeError for other dtypes, ValueError out of range."""
    a = np.asarray(ids)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer indices, got dtype {a.dtype}")
    if a.ndim > 1:
        raise ValueError(f"{name}: expected a scalar or a 1-D array, got shape {a.shape}")
    flat = a.reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= size):
        bad = flat[(flat < 0) | (flat >= size)][0]
        raise ValueError(f"{name}: index {int(bad)} is outside [0, {size})")
    return np.ascontiguousarray(flat, dtype=np.int32)


def float_array(values, name):
    """Finite float32 values, 1-D."""
    a = np.asarray(values)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numbers, got dtype {a.dtype}")
    a = np.ascontiguousarray(a.reshape(-1), dtype=np.float32)
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: value {a[~np.isfinite(a)][0]} at position "
                         f"{int(np.flatnonzero(~np.isfinite(a))[0])} is not finite")
    return a
