"""One build, every instruction set: the CLI and the Python package under MFKIT_ISA=baseline, avx2
and avx512 (those this CPU runs) give the same answers, and the portable part of the build holds no
instruction past its x86-64-v2 baseline, so it runs on a CPU with fewer features than this one."""
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mfkit
from conftest import BUILD

ISAS = mfkit.__config__["kernels_available"]
x86 = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 builds only")


def env(isa):
    return dict(os.environ, MFKIT_ISA=isa, OMP_NUM_THREADS="1", PYTHONPATH=str(BUILD / "python"))


def test_every_path_reports_itself_and_baseline_is_always_there():
    assert ISAS[0] == "baseline" and mfkit.__config__["kernels"] in ISAS
    for isa in ISAS:
        out = subprocess.run([str(BUILD / "mfkit"), "--version"], env=env(isa), capture_output=True, text=True)
        assert out.returncode == 0 and f"kernels: {isa} " in out.stdout, out.stdout


def test_a_set_this_cpu_cannot_run_is_refused_by_name(cli):
    for isa in {"avx2", "avx512"} - set(ISAS):  # empty on a machine that has both
        r = subprocess.run([cli, "--version"], env=env(isa), capture_output=True, text=True)
        assert r.returncode != 0 and isa in r.stderr
    r = subprocess.run([cli, "data", "info", "--data", "nowhere.csv"], env=env("sse9"), capture_output=True, text=True)
    assert r.returncode == 1 and "MFKIT_ISA=sse9" in r.stderr  # a user error, before any work


def cli_answers(cli, isa, tmp_path):
    """biased-mf and implicit-als trained by the CLI on one thread, then top-5 for three users."""
    rng = np.random.default_rng(5)
    data = tmp_path / "r.csv"
    with open(data, "w") as f:
        for u in range(60):
            for i in rng.choice(45, size=12, replace=False):
                f.write(f"u{u},i{i},{rng.integers(1, 6)}\n")
    answers = {}
    for model, sets in (("biased-mf", ["factors=32", "epochs=5"]), ("implicit-als", ["factors=16", "iterations=3"])):
        out = tmp_path / f"{model}-{isa}.mfk"
        cmd = [cli, "train", "-m", model, "--data", str(data), "--format", "user,item,rating", "--split", "none",
               "--threads", "1", "-q", "-o", str(out)] + [a for s in sets for a in ("--set", s)]
        r = subprocess.run(cmd, env=env(isa), capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        for user in ("u0", "u7", "u33"):
            r = subprocess.run([cli, "recommend", "-f", str(out), "--user", user, "-k", "5", "--json"], env=env(isa),
                               capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            answers[(model, user)] = json.loads(r.stdout)
    return answers


def scores(answer):
    (one,) = answer  # one user asked, one answer
    return [x["score"] for x in one["items"]]


@x86
def test_the_cli_answers_alike_on_every_path(cli, tmp_path):
    base = cli_answers(cli, "baseline", tmp_path)
    for isa in ISAS[1:]:
        got = cli_answers(cli, isa, tmp_path)
        for key, answer in base.items():
            np.testing.assert_allclose(scores(got[key]), scores(answer), rtol=2e-3, atol=2e-3, err_msg=f"{key} {isa}")


PY = textwrap.dedent("""
    import json, numpy as np, scipy.sparse as sp, mfkit
    rng = np.random.default_rng(3)
    m = sp.random(80, 60, density=0.2, random_state=4, format="csr", dtype=np.float32)
    m.data = np.ceil(m.data * 5)
    out = {"isa": mfkit.__config__["kernels"]}
    for name, kw in (("ImplicitALS", dict(factors=24, iterations=3)), ("BiasedMF", dict(factors=16, epochs=4)),
                     ("BPR", dict(factors=16, epochs=3))):
        model = getattr(mfkit, name)(num_threads=1, random_state=1, **kw).fit(m, show_progress=False)
        ids, sc = model.recommend(np.arange(80), m, N=5)
        out[name] = sc.tolist()
    print(json.dumps(out))
""")


@x86
def test_the_python_package_answers_alike_on_every_path():
    runs = {}
    for isa in ISAS:
        r = subprocess.run([sys.executable, "-c", PY], env=env(isa), capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        runs[isa] = json.loads(r.stdout.strip().splitlines()[-1])
        assert runs[isa]["isa"] == isa
    for isa in ISAS[1:]:
        for name in ("ImplicitALS", "BiasedMF", "BPR"):
            np.testing.assert_allclose(runs[isa][name], runs["baseline"][name], rtol=2e-3, atol=2e-3,
                                       err_msg=f"{name} on {isa}")


@x86
@pytest.mark.skipif(shutil.which("objdump") is None, reason="needs objdump (binutils)")
def test_the_portable_part_has_no_instruction_past_its_baseline():
    """libmfkit.so, the CLI and mfkit._core are built for x86-64-v2: no AVX register in their code
    (the kernels for AVX2 and AVX-512 are libraries of their own, loaded only on a CPU that has them)."""
    if mfkit.__config__["kernels_build"] != "x86-64-v2":
        pytest.skip("built with MFKIT_NATIVE=ON (for this machine only)")
    core = next((BUILD / "python" / "mfkit").glob("_core*.so"))
    for path in (BUILD / "lib" / "libmfkit.so", BUILD / "mfkit", core):
        asm = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(path)], capture_output=True, text=True).stdout
        wide = [line for line in asm.splitlines() if re.search(r"%[yz]mm\d", line)]
        assert not wide, f"{path.name}: {len(wide)} AVX instructions, e.g. {wide[:3]}"
    for isa, reg in (("avx2", "%ymm"), ("avx512", "%zmm")):
        asm = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(BUILD / "lib" / f"libmfkit_kernels_{isa}.so")],
                             capture_output=True, text=True).stdout
        assert reg in asm, f"the {isa} kernels use no {reg} register"
