"""mfkit: matrix factorization and neural recommendation, in C++ with a Python interface.

    import mfkit, scipy.sparse
    model = mfkit.ImplicitALS(factors=64, iterations=15)
    model.fit(user_items)                      # users x items scipy.sparse.csr_matrix
    ids, scores = model.recommend(0, user_items[0], N=10)

One class per registered model (`mfkit.models()` lists them), `mfkit.create(name, preset,
**params)`, `mfkit.load(path)` for model files, `mfkit.Dataset` for raw ids, and
`mfkit.evaluation`/`mfkit.tune` for protocols and search. See docs/python.md.
"""

from . import _core, datasets, evaluation
from ._core import DivergedError, Error, InputError, ModelFileError, NotFoundError, ParamError
from .data import Dataset
from .evaluation import (cross_validate, evaluate, leave_one_out, mae, ranking_metrics_at_k, rmse, split,
                         train_test_split)
from .models import CLASSES, Model, create, load, models
from .tuning import default_space, tune

__version__ = _core.version
# How this build runs here: its version and revision, and which kernels run (`kernels`: baseline,
# avx2 or avx512, chosen from the CPU at import or forced by MFKIT_ISA) among those available.
__config__ = {"version": _core.version, "source_revision": _core.source_revision, **{
    ("kernels" if k == "isa" else "kernels_" + k): v for k, v in _core.kernels().items()}}

globals().update(CLASSES)


__all__ = ["Dataset", "Model", "create", "load", "models", "datasets", "evaluation", "tune", "split",
           "train_test_split", "leave_one_out", "rmse", "mae", "evaluate", "ranking_metrics_at_k",
           "cross_validate", "default_space", "Error", "ParamError", "InputError", "ModelFileError", "NotFoundError",
           "DivergedError"] + sorted(CLASSES)
