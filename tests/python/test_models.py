"""Every registered model through the Python interface: fit, recommend, predict, similar,
explain, factors, save and load (the Python half of the conformance suite)."""

import numpy as np
import pytest

import mfkit
from conftest import QUICK, quick

NAMES = list(mfkit.models())


def test_one_class_per_registered_model():
    for entry in mfkit.models.__globals__["REGISTRY"]:
        cls = getattr(mfkit, entry["class_name"])
        assert issubclass(cls, mfkit.Model)
        assert cls().params == mfkit.create(entry["name"]).params
        assert entry["name"] in QUICK


def test_docstring_and_signature_come_from_the_struct():
    import inspect

    sig = inspect.signature(mfkit.ImplicitALS)
    assert sig.parameters["factors"].default == mfkit.ImplicitALS().params["factors"]
    assert "latent dimension" in mfkit.ImplicitALS.__doc__
    assert "lambda_" in inspect.signature(mfkit.NNMF).parameters


@pytest.mark.parametrize("name", NAMES)
def test_fit_recommend_predict_save_load(name, implicit_matrix, ratings, tmp_path):
    model = quick(name)
    data = implicit_matrix if model.implicit else ratings.to_csr()
    model.fit(data, show_progress=False)
    assert model.fitted and model.n_users == data.shape[0] and model.n_items == data.shape[1]
    assert len(model.history) >= 1

    ids, scores = model.recommend(0, data[0], N=5)
    assert ids.dtype == np.int32 and scores.dtype == np.float32 and ids.shape == (5,)
    assert not set(ids) & set(data[0].indices), "seen items must be filtered"
    assert np.all(np.diff(scores) <= 0)

    users = np.arange(data.shape[0])
    batch_ids, batch_scores = model.recommend(users, data, N=5)
    assert batch_ids.shape == (data.shape[0], 5)
    np.testing.assert_array_equal(batch_ids[0], ids)
    np.testing.assert_allclose(batch_scores[0], scores, rtol=1e-6)

    p = model.predict(users[:10], batch_ids[:10, 0])
    np.testing.assert_allclose(p, batch_scores[:10, 0], rtol=1e-4, atol=1e-5)

    try:
        sim, sim_scores = model.similar_items(2, N=4)
    except mfkit.Error:
        sim = None  # a model without item vectors says so
    if sim is not None:
        assert sim[0] == 2 and sim_scores[0] == pytest.approx(1.0)
        assert len(set(sim)) == len(sim)

    path = tmp_path / f"{name}.mfk"
    model.save(path)
    again = mfkit.load(path)
    assert type(again) is type(model) and again.params == model.params
    ids2, scores2 = again.recommend(users, data, N=5)
    np.testing.assert_array_equal(ids2, batch_ids)
    np.testing.assert_allclose(scores2, batch_scores, rtol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_checkerboard_preferences_are_learned(name):
    # Even users like even items and dislike odd ones, and vice versa; a random quarter of the
    # cells is held out. Rating models see 5 and 1 stars, implicit models only the liked cells.
    import scipy.sparse as sp

    if name == "popularity":
        pytest.skip("popularity is the same for every user by design")
    model = quick(name)
    rng = np.random.default_rng(4)
    held = rng.random((40, 30)) < 0.25
    liked = (np.add.outer(np.arange(40), np.arange(30)) % 2) == 0
    keep = ~held & (liked | (not model.implicit))
    r, c = np.nonzero(keep)
    train = sp.csr_matrix((np.where(liked[r, c], 5.0, 1.0).astype(np.float32), (r, c)), shape=(40, 30))
    model.fit(train, show_progress=False, num_threads=1)
    hr, hc = np.nonzero(held)
    p = model.predict(hr, hc)
    if model.implicit:
        q = model.predict(hr, (hc + 1) % 30)  # an unseen cell of the opposite kind, same user
        right = np.where(liked[hr, hc], p > q, p < q)
    else:
        right = np.where(liked[hr, hc], p > 3, p < 3)
    assert right.mean() > 0.9


def test_raw_ids_dataset_round_trip(ratings, tmp_path):
    train, test = mfkit.split(ratings, "random:0.9", 1)
    model = quick("biased-mf").fit(train, show_progress=False)
    df = test.to_pandas()
    p = model.predict(df["user"].to_numpy(), df["item"].to_numpy())
    assert mfkit.rmse(p, df["rating"]) == pytest.approx(mfkit.evaluate(model, test)["rmse"], rel=1e-5)
    ids, _ = model.recommend(train.user_ids[0], N=3)
    assert set(ids) <= set(train.item_ids)
    # unknown ids fall back (biases), as the CLI's predict does
    assert np.isfinite(model.predict(["nobody"], [train.item_ids[0]])).all()
    with pytest.raises(LookupError, match="nobody"):
        model.recommend("nobody")
    model.save(tmp_path / "m.mfk")
    again = mfkit.load(tmp_path / "m.mfk")
    np.testing.assert_allclose(again.predict(df["user"].to_numpy(), df["item"].to_numpy()), p, rtol=1e-6)


def test_from_pandas_keeps_id_maps_and_types():
    import pandas as pd

    df = pd.DataFrame({"u": [10, 10, 20, 30, 30, 30], "i": ["a", "b", "a", "b", "c", "a"],
                       "r": [5, 3, 4, 2, 1, 4.5]})
    d = mfkit.Dataset.from_pandas(df, user="u", item="i", rating="r")
    assert d.shape == (3, 3) and d.nnz == 6
    back = d.to_pandas().sort_values(["user", "item"]).reset_index(drop=True)
    want = df.rename(columns={"u": "user", "i": "item", "r": "rating"}).sort_values(["user", "item"]).reset_index(drop=True)
    np.testing.assert_array_equal(back["user"], want["user"])
    np.testing.assert_allclose(back["rating"], want["rating"])


def test_implicit_keywords_mean_what_they_mean_in_implicit():
    m = mfkit.ImplicitALS(factors=32, regularization=0.05, alpha=2.0, iterations=7, use_cg=False,
                          calculate_training_loss=True, num_threads=1, random_state=42)
    p = m.params
    assert (p["factors"], p["reg"], p["alpha"], p["iterations"], p["solver"]) == (32, 0.05, 2.0, 7, "cholesky")
    assert p["confidence"] == "implicit"  # implicit's c = alpha * r
    assert mfkit.ImplicitALS().params["confidence"] == "linear"
    assert m.get_params()["random_state"] == 42


def test_implicit_bpr_call_works_as_written_and_folds_in(implicit_matrix):
    # implicit.bpr.BayesianPersonalizedRanking's keywords; implicit's BPR cannot fold in, this one can.
    m = mfkit.BPR(factors=8, learning_rate=0.1, regularization=0.001, iterations=30, verify_negative_samples=True,
                  num_threads=1, random_state=5)
    p = m.params
    assert (p["factors"], p["learning_rate"], p["reg"], p["epochs"], p["verify_negatives"]) == (8, 0.1, 0.001, 30, True)
    m.fit(implicit_matrix, show_progress=False)
    ids, scores = m.recommend(0, implicit_matrix[0], N=5)
    assert len(ids) == 5 and not set(ids) & set(implicit_matrix[0].indices)
    again, _ = m.recommend(0, implicit_matrix[0], N=5, recalculate_user=True)
    assert len(set(ids) & set(again)) >= 3  # the user folded in again ranks alike


def test_set_params_and_numpy_scalars():
    m = mfkit.BiasedMF(factors=np.int64(16), reg=np.float32(0.05))
    assert m.params["factors"] == 16
    m.set_params(factors=24)
    assert m.params["factors"] == 24


def test_recalculate_user_matches_fold_in_recommendations(implicit_matrix):
    m = quick("implicit-als").fit(implicit_matrix, show_progress=False)
    row = implicit_matrix[5]
    folded = m.recommend(5, row, N=5, recalculate_user=True)
    assert len(folded[0]) == 5 and not set(folded[0]) & set(row.indices)
    f = m.recalculate_user(5, row)
    assert f.shape == (m.item_factors.shape[1],)
    scores = m.item_factors @ f
    scores[row.indices] = -np.inf
    np.testing.assert_array_equal(np.argsort(-scores, kind="stable")[:5], folded[0])


def test_partial_fit_users_stores_the_fold_in_and_grows(implicit_matrix, tmp_path):
    m = quick("implicit-als").fit(implicit_matrix, show_progress=False)
    n = m.n_users
    rows = implicit_matrix[[7, 7]]
    expected = m.recalculate_user(7, implicit_matrix[7])
    m.partial_fit_users([5, n + 1], rows)  # user 5 takes user 7's row; n + 1 added, n with nothing
    assert m.n_users == n + 2 and m.user_factors.shape == (n + 2, expected.size)
    np.testing.assert_allclose(m.user_factors[[5, n + 1]], np.vstack([expected, expected]), atol=1e-5)
    assert not m.user_factors[n].any()
    ids, _ = m.recommend(n + 1, N=5)  # its row is now its seen items
    assert len(ids) == 5 and not set(ids) & set(implicit_matrix[7].indices)
    m.save(tmp_path / "grown.mfk")
    np.testing.assert_array_equal(mfkit.load(tmp_path / "grown.mfk").user_factors, m.user_factors)
    with pytest.raises(ValueError, match="rows for"):
        m.partial_fit_users([1, 2], implicit_matrix[[1]])
    with pytest.raises(ValueError, match="userids"):
        m.partial_fit_users([-3], implicit_matrix[[1]])
    with pytest.raises(ValueError, match="columns"):
        m.partial_fit_users([1], implicit_matrix[[1], :40])
    assert m.n_users == n + 2


def test_partial_fit_users_with_raw_ids(ratings):
    m = quick("biased-mf").fit(ratings, show_progress=False)
    row = ratings.to_csr()[[3]]
    m.partial_fit_users(["someone new"] if ratings.user_ids.dtype.kind not in "iu" else [10**6], row)
    new = m.user_ids[-1]
    assert m.n_users == len(ratings.user_ids) + 1 and len(m.user_ids) == m.n_users
    ids, _ = m.recommend(new, N=4)
    assert len(ids) == 4 and not set(ids) & set(ratings.item_ids[row.indices])
    assert np.isfinite(m.predict(new, ratings.item_ids[0]))
    with pytest.raises(mfkit.Error):
        quick("nnmf").fit(ratings, show_progress=False).partial_fit_users([ratings.user_ids[0]], row)


def test_filters_and_candidates(implicit_matrix):
    m = quick("implicit-als").fit(implicit_matrix, show_progress=False)
    ids, _ = m.recommend(0, implicit_matrix[0], N=10, filter_items=[1, 2, 3])
    assert not {1, 2, 3} & set(ids)
    ids, _ = m.recommend(0, implicit_matrix[0], N=10, items=np.arange(20, 30), filter_already_liked_items=False)
    assert set(ids) <= set(range(20, 30)) and len(ids) == 10
    ids, scores = m.recommend([0, 1], implicit_matrix[[0, 1]], N=200)
    assert ids.shape[1] == 80  # N is clipped to the catalogue
    assert (ids[0][scores[0] == -np.inf] == -1).all()
    sim, _ = m.similar_items(4, N=5, filter_items=[m.similar_items(4, N=2)[0][1]])
    assert len(sim) == 5
    score, top, _ = m.explain(0, implicit_matrix, itemid=int(ids[0, 0]), N=3)
    assert len(top) == 3 and np.isfinite(score)


def test_raw_ids_for_new_users_and_batches(ratings):
    m = quick("biased-mf").fit(ratings, show_progress=False)
    row = ratings.to_csr()[3]
    ids, scores = m.recommend("someone new", row, N=4, recalculate_user=True)
    assert len(ids) == 4 and set(ids) <= set(ratings.item_ids)
    batch, _ = m.recommend(ratings.user_ids[:3], N=4)
    assert batch.shape == (3, 4) and set(batch.ravel()) <= set(ratings.item_ids)
    sim, _ = m.similar_users(ratings.user_ids[:2], N=3)
    assert sim.shape == (2, 3) and sim[0, 0] == ratings.user_ids[0]


def test_libtorch_is_loaded_only_by_a_neural_model():
    # A fresh interpreter: importing mfkit and fitting a factor model must not load the neural
    # part (libmfkit_torch.so, and libtorch with it); creating an NNMF does.
    import subprocess
    import sys

    code = (
        "import mfkit, numpy as np, scipy.sparse as sp\n"
        "def torch_loaded():\n"
        "    return any('libmfkit_torch' in l or 'libtorch_cpu' in l for l in open('/proc/self/maps'))\n"
        "m = sp.random(30, 20, density=0.3, format='csr', dtype=np.float32, random_state=1)\n"
        "mfkit.BiasedMF(factors=4, epochs=2).fit(m, show_progress=False)\n"
        "mfkit.ImplicitALS(factors=4, iterations=2).fit(m, show_progress=False)\n"
        "print(torch_loaded())\n"
        "mfkit.NNMF()\n"
        "print(torch_loaded())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def test_import_maps_no_server_store_or_download_library():
    # The server (TLS, Prometheus), the chart store (SQLite) and the downloader (HTTPS, zip) are
    # libraries of their own: importing mfkit and fitting a model in a fresh interpreter maps none
    # of what they need (numpy itself may map libcrypto through hashlib: only what mfkit adds counts).
    import subprocess
    import sys

    code = (
        "import numpy as np, scipy.sparse as sp\n"
        "def maps():\n"
        "    return {l.split()[-1].rsplit('/', 1)[-1] for l in open('/proc/self/maps') if '.so' in l}\n"
        "before = maps()\n"
        "import mfkit\n"
        "m = sp.random(30, 20, density=0.3, format='csr', dtype=np.float32, random_state=1)\n"
        "mfkit.BiasedMF(factors=4, epochs=2).fit(m, show_progress=False)\n"
        "print(sorted(maps() - before))\n"
    )
    added = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "libmfkit.so" in added
    for lib in ("libssl", "libcrypto", "libsqlite3", "libzip", "libprometheus", "libmfkit_serve", "libmfkit_store"):
        assert lib not in added, (lib, added)


def test_a_datasets_titles_reach_the_networks_that_read_them(implicit_matrix):
    import pandas as pd

    m = implicit_matrix.tocoo()
    df = pd.DataFrame({"user": m.row, "item": m.col, "plays": m.data})
    data = mfkit.Dataset.from_pandas(df, rating="plays")
    net = mfkit.ShallowNet(architecture=4, factors=4, epochs=1, loss="bpr", negatives=1, cells="sampled")
    with pytest.raises(mfkit.Error, match="needs item titles"):
        net.fit(data, show_progress=False)
    data.labels = {"item_titles": [f"song number {data.item_ids[i]}" for i in range(data.n_items)]}
    net.fit(data, show_progress=False)
    assert net.fitted
    data.labels = {"item_titles": ["one title for too few items"]}
    with pytest.raises(ValueError, match="item labels for"):
        net.fit(data, show_progress=False)
