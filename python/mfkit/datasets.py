"""Named datasets, resolved as the CLI resolves them (under $MFKIT_DATA_DIR)."""

from . import _core
from .data import Dataset


def names():
    """{name: description} of every dataset mfkit knows by name."""
    return dict(_core.dataset_names())


def data_dir():
    """The folder named datasets are looked up in ($MFKIT_DATA_DIR, default ~/.cache/mfkit)."""
    return _core.data_dir()


def load(name, format=None, sep=",", header=False, skip_bad_lines=False, duplicates="last", binarize=False):
    """A dataset by name ("ml-100k", "ml-1m", ...) or a file path, as `mfkit train --data` reads it.

    `format` lists a file's columns ("user,item,rating,timestamp", `_` skips one) with `sep` and
    `header`, as the CLI's --format/--sep/--header. A malformed line raises mfkit.InputError
    naming file and line, unless `skip_bad_lines`.
    """
    core, labels, report = _core.load_data(name, format or "", sep, header, skip_bad_lines, duplicates, binarize)
    d = Dataset(core, labels=labels)
    d.load_report = report
    return d


def synthetic(users=600, items=400, density=0.08, rank=6, noise=0.35, seed=7):
    """The main job's synthetic ratings: low rank plus a nonlinear interaction, with noise."""
    return Dataset(_core.synthetic_ratings(users, items, density, rank, noise, seed))
