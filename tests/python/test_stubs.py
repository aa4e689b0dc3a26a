"""The type stubs cannot drift: python/mfkit/*.pyi are what scripts/stubs.py writes from the
built package now (so a parameter added in C++ without regenerating fails here), they are
Python, they name every registered model and every public name of the package, and they are
packaged. With mypy or pyright installed, the stubs also pass it and catch a wrong keyword."""

import ast
import importlib.util
import json
import keyword
import os
import pkgutil
import shutil
import subprocess
import sys

import pytest

import mfkit
from conftest import ROOT

PKG = ROOT / "python" / "mfkit"
REGISTRY = mfkit.models.__globals__["REGISTRY"]
REGENERATE = "run PYTHONPATH=build/python /usr/bin/python3 scripts/stubs.py (or ./scripts/docs.sh)"


def generator():
    spec = importlib.util.spec_from_file_location("mfkit_stubs_generator", ROOT / "scripts" / "stubs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def stubs():
    """{file name: committed text} of every stub."""
    return {p.name: p.read_text() for p in sorted(PKG.glob("*.pyi"))}


def test_stubs_are_what_the_generator_writes_now(stubs):
    fresh = generator().render()
    assert sorted(fresh) == sorted(stubs), f"python/mfkit/*.pyi: {sorted(stubs)} committed, {sorted(fresh)} generated; " \
                                           + REGENERATE
    for name, text in fresh.items():
        assert stubs[name] == text, f"python/mfkit/{name} is stale: {REGENERATE}"


def bound(tree):
    """Names a stub module binds: classes, functions, annotated or assigned names, re-exports."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets}
        elif isinstance(node, ast.ImportFrom):
            names |= {a.asname for a in node.names if a.asname == a.name}  # `import X as X` re-exports
    return names


def test_stubs_are_python_and_name_every_model_and_public_name(stubs):
    trees = {name: ast.parse(text, filename=name) for name, text in stubs.items()}
    subs = [m.name for m in pkgutil.iter_modules(mfkit.__path__) if not m.name.startswith("_")]
    assert sorted(trees) == sorted(["__init__.pyi"] + [f"{s}.pyi" for s in subs])

    init = trees["__init__.pyi"]
    public = {n for n in dir(mfkit) if not n.startswith("_")} | {"__version__", "__config__", "__all__"}
    assert public <= bound(init), f"missing from __init__.pyi: {sorted(public - bound(init))}"
    for sub in subs:  # each submodule's own public functions and classes
        module = importlib.import_module(f"mfkit.{sub}")
        own = {n for n, v in vars(module).items() if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__}
        assert own <= bound(trees[f"{sub}.pyi"]), f"missing from {sub}.pyi: {sorted(own - bound(trees[f'{sub}.pyi']))}"

    classes = {n.name: n for n in init.body if isinstance(n, ast.ClassDef)}
    for entry in REGISTRY:
        cls = classes.get(entry["class_name"])
        assert cls is not None, f"__init__.pyi has no class {entry['class_name']} ({entry['name']}): {REGENERATE}"
        assert [ast.unparse(b) for b in cls.bases] == ["Model"]
        init_def = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
        kwonly = {a.arg: ast.unparse(a.annotation) for a in init_def.args.kwonlyargs}
        for p in entry["params"]:
            name = p["name"] + "_" if keyword.iskeyword(p["name"]) else p["name"]
            assert name in kwonly, f"{entry['class_name']}.__init__ lacks {name}: {REGENERATE}"
            if p["choices"]:
                assert kwonly[name] == "Literal[" + ", ".join(map(repr, p["choices"])) + "]"
        doc = ast.get_docstring(cls)
        assert all(p["help"] in doc for p in entry["params"])
    overloads = [n for n in trees["models.pyi"].body if isinstance(n, ast.FunctionDef) and n.name == "create"]
    assert len(overloads) == len(REGISTRY) + 1


def test_stubs_are_installed_with_the_package():
    tomllib = pytest.importorskip("tomllib")
    assert (PKG / "py.typed").exists() and (PKG / "py.typed").read_text() == ""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["mfkit"]
    assert "py.typed" in data and "*.pyi" in data
    # build/python/mfkit is a copy of the whole folder (stubs included).
    assert "copy_directory ${CMAKE_SOURCE_DIR}/python/mfkit" in (ROOT / "CMakeLists.txt").read_text()


GOOD = """
import numpy as np
import mfkit
from mfkit import datasets, evaluation

d: mfkit.Dataset = datasets.synthetic(users=10)
train, test = evaluation.split(d)
m = mfkit.ImplicitALS(factors=8, confidence="log", num_threads=1, random_state=np.random.default_rng(1), use_gpu=False)
fitted: mfkit.ImplicitALS = m.fit(train, show_progress=False).set_params(factors=9)
ids, scores = m.recommend(0, None, N=5)
n: mfkit.NNMF = mfkit.create("nnmf", "paper", epochs=2)
m.build_index(M=8, metric="ip")
version: str = mfkit.__version__
try:
    mfkit.NNMF(lambda_=0.1)
except mfkit.ParamError:
    pass
"""
BAD = """
import mfkit
mfkit.BiasedMF(factors="8")
mfkit.ImplicitALS(confidence="cubic")
"""


def checkers():
    found = []
    if shutil.which("mypy") or importlib.util.find_spec("mypy"):
        found.append("mypy")
    if shutil.which("pyright"):
        found.append("pyright")
    return found


@pytest.mark.parametrize("checker", checkers() or [pytest.param(None, marks=pytest.mark.skip("no mypy or pyright"))])
def test_stubs_pass_a_type_checker(checker, tmp_path):
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "bad.py").write_text(BAD)
    files = [str(p) for p in sorted(PKG.glob("*.pyi"))]

    def run(script):
        if checker == "mypy":
            cmd = [shutil.which("mypy")] if shutil.which("mypy") else [sys.executable, "-m", "mypy"]
            cmd += ["--strict", "--cache-dir", str(tmp_path / "cache"), *files, str(tmp_path / script)]
            env = dict(os.environ, MYPYPATH=str(PKG.parent))
        else:
            (tmp_path / "pyrightconfig.json").write_text(json.dumps({"extraPaths": [str(PKG.parent)],
                                                                     "typeCheckingMode": "strict"}))
            cmd = ["pyright", "--pythonpath", sys.executable, "-p", str(tmp_path / "pyrightconfig.json"), *files,
                   str(tmp_path / script)]
            env = dict(os.environ)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)

    good = run("good.py")
    assert good.returncode == 0, good.stdout + good.stderr
    bad = run("bad.py")
    assert bad.returncode != 0 and "factors" in bad.stdout and "confidence" in bad.stdout, bad.stdout + bad.stderr
