"""`pip install --no-build-isolation .`: setuptools drives the project's CMake to build the
compiled `mfkit._core` (target mfkit_python) and installs it beside python/mfkit/, with the two
libraries it needs (libmfkit.so; libmfkit_torch.so, loaded when a neural model is used; the
kernels for AVX2 and AVX-512, one of them loaded when the CPU has it). Built for x86-64-v2, so the
installed package runs on any x86-64 machine of that baseline.

Needs what scripts/setup.sh installs (Debian packages); no network.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent
# The one place the version is written: CMake's project() line.
VERSION = re.search(r"project\(mfkit VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text()).group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = pathlib.Path(self.build_temp).resolve() / "cmake"
        build.mkdir(parents=True, exist_ok=True)
        jobs = str(os.cpu_count() or 1)
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                        "-DMFKIT_BUILD_PYTHON=ON", f"-DPython_EXECUTABLE={sys.executable}"], check=True)
        subprocess.run(["cmake", "--build", str(build), "--target", "mfkit_python", "mfkit_python_files", "-j", jobs],
                       check=True)
        built = next((build / "python" / "mfkit").glob("_core*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)
        # _core finds them beside itself (its RPATH is $ORIGIN first).
        # The kernels for AVX2 and AVX-512 too (libmfkit picks one at run time from beside itself).
        for lib in ["libmfkit.so", "libmfkit_torch.so", *(p.name for p in (build / "lib").glob("libmfkit_kernels_*.so"))]:
            shutil.copy2(build / "lib" / lib, target.parent / lib)


setup(version=VERSION, ext_modules=[Extension("mfkit._core", sources=[])], cmdclass={"build_ext": CMakeBuild})
