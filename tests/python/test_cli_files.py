"""Model files cross the CLI/Python boundary both ways with identical scores."""

import json
import subprocess

import numpy as np
import pytest

import mfkit


def run(cli, *args):
    out = subprocess.run([cli, *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def ratings_file(tmp_path, ratings):
    df = ratings.to_pandas()
    path = tmp_path / "ratings.csv"
    df[["user", "item", "rating"]].to_csv(path, header=False, index=False)
    return path


@pytest.mark.parametrize("name", ["biased-mf", "implicit-als"])
def test_cli_model_loads_in_python_with_identical_scores(cli, ratings_file, tmp_path, name):
    path = tmp_path / "cli.mfk"
    run(cli, "train", "-m", name, "--data", str(ratings_file), "--format", "user,item,rating",
        "--set", "factors=8", "-o", str(path), "-q", "--threads", "1")
    model = mfkit.load(path)
    assert model.user_ids is not None  # CLI files hold raw ids
    users = [str(u) for u in model.user_ids[:3]]
    listing = json.loads(run(cli, "recommend", "-f", str(path), "-k", "5", "--json", *sum([["-u", u] for u in users], [])))
    for entry in listing:
        ids, scores = model.recommend(entry["user"], N=5)
        assert [str(i) for i in ids] == [e["item"] for e in entry["items"]]
        np.testing.assert_allclose(scores, [e["score"] for e in entry["items"]], rtol=1e-6)
    items = [str(i) for i in model.item_ids[:3]]
    preds = json.loads(run(cli, "predict", "-f", str(path), "--json", *sum([["-u", u, "-i", i] for u, i in zip(users, items)], [])))
    np.testing.assert_allclose(model.predict(users, items), [p["prediction"] for p in preds], rtol=1e-6)


def test_python_model_is_read_by_the_cli(cli, ratings, implicit_matrix, tmp_path):
    # raw ids (a Dataset) and index ids (a CSR matrix): the CLI sees the ids as strings
    model = mfkit.BiasedMF(factors=8, random_state=1).fit(ratings, show_progress=False)
    path = tmp_path / "py.mfk"
    model.save(path)
    user = ratings.user_ids[4]
    listing = json.loads(run(cli, "recommend", "-f", str(path), "-u", str(user), "-k", "4", "--json"))
    ids, scores = model.recommend(user, N=4)
    assert [e["item"] for e in listing[0]["items"]] == [str(i) for i in ids]
    np.testing.assert_allclose([e["score"] for e in listing[0]["items"]], scores, rtol=1e-6)

    imf = mfkit.ImplicitALS(factors=8, iterations=4, random_state=1).fit(implicit_matrix, show_progress=False)
    imf.save(tmp_path / "imf.mfk")
    listing = json.loads(run(cli, "recommend", "-f", str(tmp_path / "imf.mfk"), "-u", "7", "-k", "4", "--json"))
    ids, scores = imf.recommend(7, implicit_matrix[7], N=4)
    assert [e["item"] for e in listing[0]["items"]] == [str(i) for i in ids]
    np.testing.assert_allclose([e["score"] for e in listing[0]["items"]], scores, rtol=1e-6)
    again = mfkit.load(tmp_path / "imf.mfk")
    assert again.user_ids is None  # index mode survives the file


def test_python_model_is_served(cli, ratings, tmp_path):
    import socket
    import time
    import urllib.request

    model = mfkit.BiasedMF(factors=8, random_state=1).fit(ratings, show_progress=False)
    model.save(tmp_path / "s.mfk")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    help_text = run(cli, "serve", "--help")
    flag = "-f" if "--model-file" in help_text else "--model"
    proc = subprocess.Popen([cli, "serve", flag, f"m={tmp_path / 's.mfk'}", "--port", str(port), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        user = str(ratings.user_ids[2])
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/recommend?model=m&user={user}&k=3", timeout=2) as r:
                    body = json.loads(r.read())
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(proc.stderr.read().decode())
                time.sleep(0.1)
        assert body is not None, "the server did not answer"
        ids, scores = model.recommend(ratings.user_ids[2], N=3)
        assert [e["item"] for e in body["items"]] == [str(i) for i in ids]
        np.testing.assert_allclose([e["score"] for e in body["items"]], scores, rtol=1e-6)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_sharded_model_from_two_ranks_loads_in_python(cli, ratings_file, tmp_path):
    """A distributed run's sharded output (manifest + a part per rank) is one model to Python."""
    import os
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    args = [cli, "train", "-m", "biased-mf", "--data", str(ratings_file), "--format", "user,item,rating",
            "--split", "hash:0.9", "--set", "factors=8", "--threads", "1", "-q", "--timeout", "30", "--sharded"]
    procs = [subprocess.Popen(args + ["-o", str(tmp_path / "m.mfk")], stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, RANK=str(r), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                                       MASTER_PORT=port))
             for r in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert (tmp_path / "m.mfk.part-1-of-2").exists()
    model = mfkit.load(tmp_path / "m.mfk")
    users = {line.split(",")[0] for line in ratings_file.read_text().split()}
    assert sorted(str(u) for u in model.user_ids) == sorted(users)
    ids, _ = model.recommend(str(model.user_ids[0]), N=5)
    assert len(ids) == 5
    (tmp_path / "m.mfk.part-0-of-2").unlink()
    with pytest.raises(mfkit.ModelFileError, match="part-0-of-2"):
        mfkit.load(tmp_path / "m.mfk")
