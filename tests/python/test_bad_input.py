"""Bad input raises a clear ValueError/TypeError naming the argument; nothing crashes."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import mfkit
from conftest import quick


@pytest.fixture
def model(implicit_matrix):
    return quick("implicit-als").fit(implicit_matrix, show_progress=False)


def test_dense_matrix_is_refused_with_the_fix(implicit_matrix):
    with pytest.raises(TypeError, match="user_items: a dense"):
        quick("implicit-als").fit(implicit_matrix.toarray())
    with pytest.raises(TypeError, match="user_items: expected a scipy.sparse.csr_matrix"):
        quick("implicit-als").fit([[1, 2], [3, 4]])


def test_coo_is_converted_with_a_warning(implicit_matrix):
    with pytest.warns(UserWarning, match="converting a COO matrix"):
        m = quick("implicit-als").fit(implicit_matrix.tocoo(), show_progress=False)
    assert m.fitted


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_name_row_and_column(implicit_matrix, bad):
    m = implicit_matrix.copy()
    m.data[7] = bad
    with pytest.raises(ValueError, match=r"user_items: the value at row \d+, column \d+"):
        quick("implicit-als").fit(m)


def test_non_numeric_values():
    m = sp.csr_matrix(np.eye(3, dtype=np.float32))
    m.data = m.data.astype(np.complex64)
    with pytest.raises(TypeError, match="user_items"):
        quick("implicit-als").fit(m)


def test_float64_is_accepted(implicit_matrix):
    m = implicit_matrix.astype(np.float64)
    a = quick("implicit-als").fit(m, show_progress=False)
    b = quick("implicit-als").fit(implicit_matrix, show_progress=False)
    np.testing.assert_allclose(a.item_factors, b.item_factors, rtol=1e-5, atol=1e-6)


def test_user_items_row_count_must_match(model, implicit_matrix):
    with pytest.raises(ValueError, match="user_items: 3 rows for 2 userid"):
        model.recommend([0, 1], implicit_matrix[:3])
    with pytest.raises(ValueError, match="user_items: 5 columns"):
        model.recommend(0, sp.csr_matrix((1, 5), dtype=np.float32))


@pytest.mark.parametrize("userid", [-1, 120, 10**9])
def test_out_of_range_ids(model, userid):
    with pytest.raises(ValueError, match=f"userid: index {userid} is outside"):
        model.recommend(userid, None)


def test_wrong_dtypes(model):
    with pytest.raises(TypeError, match="userid: expected integer indices"):
        model.recommend(np.array([0.5, 1.0]))
    with pytest.raises(TypeError, match="filter_items"):
        model.recommend(0, filter_items=["a"])
    with pytest.raises(ValueError, match="N: expected a positive count"):
        model.recommend(0, N=0)
    with pytest.raises(ValueError, match="predict: users has 2 entries but items 1"):
        model.predict([0, 1], [0])


def test_model_used_before_fit():
    m = mfkit.ImplicitALS()
    for call in (lambda: m.recommend(0), lambda: m.predict([0], [0]), lambda: m.similar_items(0),
                 lambda: m.item_factors, lambda: m.save("/tmp/never.mfk")):
        with pytest.raises(ValueError, match="not fitted"):
            call()


def test_unknown_keyword_lists_valid_ones():
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'factor'.*valid keywords: .*factors"):
        mfkit.ImplicitALS(factor=3)
    with pytest.raises(TypeError, match="factors: expected int"):
        mfkit.ImplicitALS(factors="64")
    with pytest.raises(ValueError, match=r"outside the allowed range \[1, 1024\]"):
        mfkit.ImplicitALS(factors=0)
    with pytest.raises(ValueError, match="use_gpu"):
        mfkit.ImplicitALS(use_gpu=True)
    with pytest.raises(ValueError, match="unknown model 'svd'"):
        mfkit.create("svd")
    with pytest.raises(ValueError, match="num_threads"):
        mfkit.ImplicitALS(num_threads=-2)


def test_truncated_and_missing_model_files(model, tmp_path):
    path = tmp_path / "m.mfk"
    model.save(path)
    data = path.read_bytes()
    (tmp_path / "cut.mfk").write_bytes(data[: len(data) // 2])
    with pytest.raises(mfkit.ModelFileError, match="cut.mfk"):
        mfkit.load(tmp_path / "cut.mfk")
    with pytest.raises(mfkit.Error, match="missing.mfk"):
        mfkit.load(tmp_path / "missing.mfk")
    assert mfkit.load(path).fitted  # the original is untouched


def test_bad_pandas_input():
    import pandas as pd

    with pytest.raises(ValueError, match="rating: no column 'stars'"):
        mfkit.Dataset.from_pandas(pd.DataFrame({"user": [1], "item": [2]}), rating="stars")
    with pytest.raises(ValueError, match="user: column 'user' has a missing id"):
        mfkit.Dataset.from_pandas(pd.DataFrame({"user": [1, None], "item": [2, 3]}))
    with pytest.raises(ValueError, match="rating: column 'r' holds nan"):
        mfkit.Dataset.from_pandas(pd.DataFrame({"user": [1, 2], "item": [2, 3], "r": [1.0, np.nan]}), rating="r")
    with pytest.raises(TypeError, match="df: expected a pandas DataFrame"):
        mfkit.Dataset.from_pandas({"user": [1]})
    with pytest.raises(ValueError, match="user_ids: 2 ids for 3 rows"):
        mfkit.Dataset.from_csr(sp.csr_matrix(np.eye(3, dtype=np.float32)), user_ids=["a", "b"])


def test_malformed_file_names_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1,2,5\n1,3,oops\n2,2,4\n")
    with pytest.raises(mfkit.InputError, match="bad.csv.*2"):
        mfkit.datasets.load(str(path), format="user,item,rating")
    d = mfkit.datasets.load(str(path), format="user,item,rating", skip_bad_lines=True)
    assert d.nnz == 2 and d.load_report["skipped"] == 1


def test_no_warning_for_clean_csr(implicit_matrix):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quick("implicit-als").fit(implicit_matrix, show_progress=False)


# Issue 38: crafted files, empty metrics, ids that read alike, messages with bytes that are not UTF-8.
def test_a_crafted_deep_model_file_is_refused(tmp_path):
    import struct
    import zlib

    header = b'{"model_type":"biased-mf","params":{"factors":' + b"[" * 100000 + b"]" * 100000 + b'},"tensors":[]}'
    body = b"MFKITMDL" + struct.pack("<IIQ", 1, 0, len(header)) + header
    (tmp_path / "deep.mfk").write_bytes(body + struct.pack("<I", zlib.crc32(body)) + b"MFKITEND")
    with pytest.raises(mfkit.ModelFileError, match="nested deeper than 64 levels"):
        mfkit.load(tmp_path / "deep.mfk")
    with pytest.raises(mfkit.ModelFileError, match="is a device"):
        mfkit.load("/dev/zero")


def test_empty_metrics_and_ids_that_read_alike_are_refused():
    import pandas as pd

    with pytest.raises(ValueError, match="rmse: no values"):
        mfkit.rmse([], [])
    with pytest.raises(ValueError, match="mae: no values"):
        mfkit.mae(np.array([], np.float32), np.array([], np.float32))
    df = pd.DataFrame({"user": pd.Series([1, "1", 2], dtype=object), "item": ["a", "b", "c"]})
    with pytest.raises(ValueError, match=r"user: column 'user' holds 1 \(int\) and '1' \(str\)"):
        mfkit.Dataset.from_pandas(df)


def test_messages_quoting_bytes_that_are_not_utf8_keep_their_text(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"1,10,5\n2,caf\xe9,4\n")
    with pytest.raises(mfkit.InputError, match=r"latin1.csv:2: item id 'caf\\xe9' is not valid UTF-8"):
        mfkit.datasets.load(str(path), format="user,item,rating")
