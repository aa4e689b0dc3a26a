"""Splits, metrics, cross-validation and tuning, bound from the library."""

import json
import subprocess
import sys

import numpy as np
import pytest

import mfkit
from conftest import BUILD, quick


def test_train_test_split_partitions_the_entries(implicit_matrix):
    train, test = mfkit.train_test_split(implicit_matrix, train_percentage=0.8, random_state=3)
    assert train.shape == test.shape == implicit_matrix.shape
    assert train.nnz + test.nnz == implicit_matrix.nnz
    assert (train.multiply(test)).nnz == 0
    np.testing.assert_allclose((train + test).toarray(), implicit_matrix.toarray())
    assert 0.75 < train.nnz / implicit_matrix.nnz < 0.85
    again, _ = mfkit.train_test_split(implicit_matrix, 0.8, random_state=3)
    assert (again != train).nnz == 0


def test_split_specs_match_the_cli(ratings):
    train, test = mfkit.split(ratings, "kfold:5:1", 2)
    assert train.nnz + test.nnz == ratings.nnz
    tr, te, negatives = mfkit.leave_one_out(ratings, negatives=20, random_state=1)
    assert np.all(np.diff(te.to_csr().indptr) <= 1) and len(negatives) == ratings.n_users
    assert all(len(n) == 20 for n in negatives if len(n))
    with pytest.raises(ValueError, match="split"):
        mfkit.split(ratings, "sideways:3")


def test_rmse_and_mae():
    p, a = np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 2.0])
    assert mfkit.rmse(p, a) == pytest.approx(np.sqrt(np.mean((p - a) ** 2)))
    assert mfkit.mae(p, a) == pytest.approx(np.mean(np.abs(p - a)))
    with pytest.raises(ValueError, match="actual"):
        mfkit.rmse(p, [1.0, np.nan, 2.0])


def test_ranking_metrics_at_k(implicit_matrix):
    train, test = mfkit.train_test_split(implicit_matrix, 0.8, random_state=1)
    m = quick("implicit-als").fit(train, show_progress=False)
    r = mfkit.ranking_metrics_at_k(m, train, test, K=10)
    for key in ("precision", "recall", "ndcg", "map", "hit_rate", "auc", "expected_percentile_rank"):
        assert 0 <= r[key] <= 1, key
    assert r["auc"] > 0.7 and r["expected_percentile_rank"] < 0.35  # the three taste groups are learned
    with pytest.raises(ValueError, match="test: shape"):
        mfkit.ranking_metrics_at_k(m, train, test[:10], K=10)


def test_cross_validate(ratings):
    out = mfkit.cross_validate("biased-mf", ratings, cv=3, measures=("rmse", "mae"))
    assert out["test_rmse"].shape == (3,) and np.all(out["test_rmse"] > 0) and np.all(out["fit_time"] > 0)
    assert np.all(out["test_mae"] <= out["test_rmse"])


def test_tune_finds_better_than_a_poor_start(ratings):
    pytest.importorskip("optuna")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = {"reg": (0.001, 1.0, True), "factors": (4, 16)}
    best, study = mfkit.tune("biased-mf", ratings, space=space, n_trials=6, fixed={"epochs": 10})
    assert set(best) == {"reg", "factors", "epochs"} and len(study.trials) == 6
    assert study.best_value == min(t.value for t in study.trials if t.value is not None)
    assert mfkit.default_space("biased-mf")  # the registry gives every tunable model a space
    with pytest.raises(ValueError, match="no parameter 'speed'"):
        mfkit.tune("biased-mf", ratings, space={"speed": (1, 2)}, n_trials=1)


def test_python_m_mfkit_tune(tmp_path, ratings):
    pytest.importorskip("optuna")
    path = tmp_path / "r.csv"
    ratings.to_pandas()[["user", "item", "rating"]].to_csv(path, header=False, index=False)
    out = subprocess.run([sys.executable, "-m", "mfkit", "tune", "biased-mf", "--data", str(path),
                          "--format", "user,item,rating", "--n-trials", "3"],
                         capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(BUILD / "python")})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["trials"] == 3 and result["best_value"] > 0 and "reg" in result["best_params"]
    bad = subprocess.run([sys.executable, "-m", "mfkit", "tune", "biased-mf", "--data", str(tmp_path / "no.csv")],
                         capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(BUILD / "python")})
    assert bad.returncode != 0 and "no.csv" in bad.stderr
