"""Shared fixtures: tiny data made here, quick settings per model, the CLI binary."""

import os
import pathlib
import sys

import numpy as np
import pytest
import scipy.sparse as sp

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("MFKIT_BUILD_DIR", ROOT / "build"))
if str(BUILD / "python") not in sys.path:
    sys.path.insert(0, str(BUILD / "python"))

import mfkit  # noqa: E402

# Small and quick, as the C++ conformance suite sets them (tests/models/conformance_test.cpp).
QUICK = {
    "biased-mf": {"factors": 8, "epochs": 15},
    "als": {"factors": 8, "iterations": 6},
    "implicit-als": {"factors": 8, "iterations": 6},
    "nnmf": {"epochs": 20, "d_prime": 8, "hidden": 16, "layers": 2, "batch_size": 128, "learning_rate": 0.005,
             "patience": 0, "biases": True, "ensemble": 1, "skip": True, "ema": 0.5},
    "shallow-net": {"epochs": 12, "cells": "sampled", "negatives": 2, "batch_size": 256, "learning_rate": 0.01,
                    "reg": 0.0001},
    "popularity": {},
    "bpr": {"factors": 8, "epochs": 40, "learning_rate": 0.1},
    "ease": {"reg": 100.0},
}


def quick(name, **extra):
    """A registered model with quick settings (every model must have an entry here)."""
    assert name in QUICK, f"tests/python/conftest.py: add quick settings for the new model {name!r}"
    params = dict(QUICK[name])
    params.update(extra)
    return mfkit.create(name, random_state=3, num_threads=1, **params)


@pytest.fixture
def cli():
    path = BUILD / "mfkit"
    if not path.exists():
        pytest.skip(f"{path} not built")
    return str(path)


@pytest.fixture
def implicit_matrix():
    """120 users x 80 items, three taste groups, counts 1..5 (CSR)."""
    rng = np.random.default_rng(5)
    rows, cols, vals = [], [], []
    for u in range(120):
        g = u % 3
        liked = rng.choice(np.arange(g, 80, 3), size=12, replace=False)
        rows += [u] * len(liked)
        cols += list(liked)
        vals += list(rng.integers(1, 6, len(liked)))
    return sp.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(120, 80))


@pytest.fixture
def ratings():
    """The main job's synthetic ratings as a Dataset (raw ids)."""
    return mfkit.datasets.synthetic(users=150, items=100, density=0.15)
