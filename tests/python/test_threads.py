"""A model shared by Python threads (issue 38): readers and writers mixed for well over a thousand
calls, no crash, and every answer that a write cannot change equal to a serial run's."""

import random
import threading

import numpy as np
import pytest
import scipy.sparse as sp

import mfkit

USERS, ITEMS = 300, 200
WRITTEN = range(0, 40)  # users the writers fold in again; readers ask about the others


def matrix(seed):
    rng = np.random.default_rng(seed)
    m = sp.random(USERS, ITEMS, density=0.05, random_state=rng, format="csr", dtype=np.float32)
    m.data[:] = 1 + rng.integers(0, 5, m.nnz)
    return m


def run_threads(workers, calls_each):
    errors = []

    def body(work):
        try:
            for n in range(calls_each):
                work(n)
        except BaseException as e:  # noqa: BLE001 - every failure is the test's
            errors.append(e)

    threads = [threading.Thread(target=body, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_readers_and_writers_share_a_model(tmp_path):
    ui = matrix(1)
    model = mfkit.ImplicitALS(factors=8, iterations=4, random_state=5, num_threads=1).fit(ui, show_progress=False)
    readers_users = np.arange(40, USERS)
    want_rec = {u: model.recommend(u, ui[u], N=5) for u in readers_users[:30]}
    want_sim = {i: model.similar_items(i, N=5) for i in range(20)}
    want_pred = model.predict(np.arange(40, 80), np.arange(0, 40))
    rng_rows = matrix(2)

    def recommender(n):
        u = int(readers_users[n % 30])
        ids, scores = model.recommend(u, ui[u], N=5)
        np.testing.assert_array_equal(ids, want_rec[u][0])
        np.testing.assert_allclose(scores, want_rec[u][1], rtol=1e-6)

    def similar(n):
        i = n % 20
        ids, _ = model.similar_items(i, N=5)
        np.testing.assert_array_equal(ids, want_sim[i][0])
        ids, _ = model.similar_users(int(readers_users[n % 30]), N=5)
        assert ids.min() >= 0 and ids.max() < model.n_users

    def predictor(n):
        np.testing.assert_allclose(model.predict(np.arange(40, 80), np.arange(0, 40)), want_pred, rtol=1e-6)
        if n % 50 == 0:
            model.save(tmp_path / f"m{n}.mfk")
            assert mfkit.load(tmp_path / f"m{n}.mfk").n_items == ITEMS

    def writer(n):
        users = np.array(random.Random(n).sample(list(WRITTEN), 3))
        model.partial_fit_users(users, rng_rows[users])
        if n % 100 == 99:
            # A fit with the same data, seed and one thread gives the same model: the readers must
            # see the same answers before, during and after the swap.
            model.fit(ui, show_progress=False)

    run_threads([recommender, similar, predictor, writer], 300)  # 1,200 calls


def test_new_users_added_beside_readers_of_users(tmp_path):
    rows, cols = matrix(3).nonzero()
    import pandas as pd

    df = pd.DataFrame({"user": [f"u{r}" for r in rows], "item": [f"i{c}" for c in cols]})
    data = mfkit.Dataset.from_pandas(df)
    model = mfkit.ImplicitALS(factors=8, iterations=3, random_state=1, num_threads=1).fit(data, show_progress=False)
    row = sp.csr_matrix(np.ones((1, model.n_items), dtype=np.float32))

    def adder(n):
        model.partial_fit_users([f"new{n}"], row)

    def reader(n):
        ids, _ = model.similar_users(f"u{rows[n % len(rows)]}", N=20)
        assert all(isinstance(x, str) for x in ids)

    run_threads([adder, reader, reader, reader], 250)
    assert model.n_users >= 250


def test_thread_counts_are_capped():
    with pytest.raises(ValueError, match="num_threads"):
        mfkit.ImplicitALS(num_threads=100000)
    m = mfkit.ImplicitALS(factors=4, iterations=1, num_threads=256).fit(matrix(4), show_progress=False)
    assert m.fitted
