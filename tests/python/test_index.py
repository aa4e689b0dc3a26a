"""The approximate index from Python: build, recommend and similar through it, file round trip."""

import numpy as np
import pytest

import mfkit
from conftest import quick


def test_index_answers_like_the_exact_scan_and_travels_in_the_file(implicit_matrix, tmp_path, cli):
    import subprocess

    model = quick("implicit-als").fit(implicit_matrix)
    assert model.index is None
    model.build_index(ef_search=200, M=8)
    assert model.index["M"] == 8 and model.index["metric"] == "ip"
    users = np.arange(implicit_matrix.shape[0])
    ids, scores = model.recommend(users, implicit_matrix, N=5)
    exact_ids, exact_scores = model.recommend(users, implicit_matrix, N=5, exact=True)
    hit = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(ids, exact_ids)])
    assert hit >= 0.99
    liked = implicit_matrix.tolil().rows
    for u in users:  # never an item the user already has
        assert not set(ids[u]) & set(liked[u])
    sim, _ = model.similar_items(3, N=4)
    assert sim[0] == 3
    path = tmp_path / "m.mfk"
    model.save(path)
    back = mfkit.load(path)
    assert back.index["ef_search"] == 200
    np.testing.assert_array_equal(back.recommend(users, implicit_matrix, N=5)[0], ids)
    # The CLI reads the same file with its index; --exact forces the scan.
    for extra in ([], ["--exact"]):
        r = subprocess.run([cli, "recommend", "-f", str(path), "-u", "0", "-k", "5", "--json"] + extra,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    back.drop_index()
    assert back.index is None


def test_index_parameters_are_checked_and_non_factor_models_refused(implicit_matrix):
    model = quick("implicit-als").fit(implicit_matrix)
    with pytest.raises(TypeError, match="ef_search"):
        model.build_index(ef=10)
    with pytest.raises(ValueError, match="M"):
        model.build_index(M=1)
    pop = quick("popularity").fit(implicit_matrix)
    with pytest.raises(mfkit.Error, match="inner products"):
        pop.build_index()
    assert "ef_construction" in mfkit.Model.build_index.__doc__
