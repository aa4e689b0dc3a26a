"""docs/python.md is what scripts/python_docs.py generates from the docstrings."""

import subprocess
import sys

from conftest import BUILD, ROOT


def test_python_reference_is_up_to_date():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "python_docs.py")], capture_output=True, text=True,
                         timeout=120, env={"PYTHONPATH": str(BUILD / "python")})
    assert out.returncode == 0, out.stderr
    committed = (ROOT / "docs" / "python.md").read_text()
    assert out.stdout == committed, ("docs/python.md is stale: run PYTHONPATH=build/python /usr/bin/python3 "
                                     "scripts/python_docs.py > docs/python.md")
