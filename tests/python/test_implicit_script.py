"""An implicit-library script, unchanged apart from its import line, runs on mfkit.

The script below is written as implicit's documentation shows it (0.7: users x items CSR,
recommend on one id or an array of ids, similar_items including the item itself); only the
import differs: `from mfkit import ImplicitALS as AlternatingLeastSquares`.
"""

import subprocess
import sys
import textwrap

from conftest import BUILD

SCRIPT = textwrap.dedent('''
    import numpy as np
    import scipy.sparse as sparse
    from mfkit import ImplicitALS as AlternatingLeastSquares  # was: from implicit.als import ...

    rng = np.random.default_rng(0)
    rows = rng.integers(0, 500, 8000)
    cols = (rows % 7 + 7 * rng.integers(0, 40, 8000)) % 300
    user_items = sparse.csr_matrix((rng.integers(1, 10, 8000).astype(np.float32), (rows, cols)),
                                   shape=(500, 300))

    model = AlternatingLeastSquares(factors=32, regularization=0.05, alpha=2.0, iterations=10,
                                    calculate_training_loss=True, random_state=42)
    model.fit(user_items, show_progress=False)

    userids = np.arange(user_items.shape[0])
    ids, scores = model.recommend(userids, user_items[userids], N=10, filter_already_liked_items=True)
    assert ids.shape == (500, 10) and scores.shape == (500, 10)
    for u in range(500):
        assert not set(ids[u]) & set(user_items[u].indices)

    ids, scores = model.recommend(0, user_items[0])
    assert ids.shape == (10,)

    related, sim = model.similar_items(12, N=5)
    assert related[0] == 12

    model.save("{path}")
    loaded = AlternatingLeastSquares.load("{path}")
    np.testing.assert_array_equal(loaded.recommend(0, user_items[0])[0], ids)
    assert loaded.user_factors.shape == (500, 32) and loaded.item_factors.shape == (300, 32)

    new_users = sparse.csr_matrix(user_items[[3, 4]].toarray())  # two new users, fold-in as in implicit
    loaded.partial_fit_users(np.array([500, 501]), new_users)
    assert loaded.user_factors.shape == (502, 32)
    np.testing.assert_allclose(loaded.user_factors[500], loaded.recalculate_user(3, user_items[3]), atol=1e-5)
    print("ok")
''')


def test_implicit_style_script_runs_unchanged(tmp_path):
    code = SCRIPT.replace("{path}", str(tmp_path / "als.mfk"))
    env = {"PYTHONPATH": str(BUILD / "python"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
