"""What a benchmark ran on, for its JSON (and `save`, which writes that JSON): the CPU, its vector extensions, and which of mfkit's
kernel paths ran (MFKIT_ISA). Peers that call OpenBLAS get the matching OPENBLAS_CORETYPE, so
that with MFKIT_ISA=avx2 both sides run the AVX2 code they would run on an AVX2-only machine.

    from machine import describe, isa_env, paths, save
"""
import json
import os
import pathlib
import platform
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
# OpenBLAS's kernels for the same instruction sets (its own run-time choice, forced).
OPENBLAS_CORE = {"baseline": "Nehalem", "avx2": "Haswell", "avx512": "SkylakeX"}
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq")


def cpu():
    """The CPU's model name, core count and vector extensions (from /proc/cpuinfo)."""
    first = {}
    try:
        for line in open("/proc/cpuinfo"):
            key, _, value = line.partition(":")
            first.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    flags = set(first.get("flags", "").split())
    return {"model": first.get("model name", "unknown"), "family": first.get("cpu family"), "model_number": first.get("model"),
            "cores": os.cpu_count(), "arch": platform.machine(), "vector_flags": [f for f in VECTOR_FLAGS if f in flags]}


def kernels(mfkit=ROOT / "build" / "mfkit", isa=None):
    """`mfkit --version`'s kernels line under MFKIT_ISA=isa (None: the CPU's own choice)."""
    env = dict(os.environ)
    env.pop("MFKIT_ISA", None)
    if isa:
        env["MFKIT_ISA"] = isa
    out = subprocess.run([str(mfkit), "--version"], env=env, capture_output=True, text=True, check=True).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("kernels:")), "")


def paths(mfkit=ROOT / "build" / "mfkit"):
    """The kernel paths this CPU runs, narrowest first: from `mfkit --version`'s "available here" list."""
    line = kernels(mfkit)
    inside = line.split("available here:", 1)[1].split(";", 1)[0] if "available here:" in line else "baseline"
    return [p.strip() for p in inside.split(",") if p.strip()]


def isa_env(isa, base=None):
    """The environment that runs mfkit on `isa`'s kernels and OpenBLAS on the same instruction set."""
    env = dict(os.environ if base is None else base)
    env["MFKIT_ISA"] = isa
    env["OPENBLAS_CORETYPE"] = OPENBLAS_CORE[isa]
    return env


def describe(mfkit=ROOT / "build" / "mfkit", isas=()):
    """The `machine` entry of a bench JSON: CPU, extensions, and each path's --version line."""
    return {**cpu(), "kernels": {isa: kernels(mfkit, isa) for isa in isas} if isas else kernels(mfkit)}


def save(path, result, indent=1):
    """Writes a bench's JSON atomically (a temporary file beside it, then a rename)."""
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=indent)
        f.write("\n")
    os.replace(path + ".tmp", path)
