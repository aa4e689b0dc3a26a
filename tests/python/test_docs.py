"""Generated documentation cannot drift: the Python, CLI and C++ references and the result
tables are what their scripts print now, and the README stays a front page."""

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


def run_script(*args):
    out = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_cli_reference_is_every_subcommands_help(cli):
    committed = (ROOT / "docs" / "cli-reference.md").read_text()
    assert run_script(ROOT / "scripts" / "cli_docs.py", cli) == committed, (
        "docs/cli-reference.md is stale: run /usr/bin/python3 scripts/cli_docs.py build/mfkit > docs/cli-reference.md")


def test_cpp_reference_lists_every_public_header():
    committed = (ROOT / "docs" / "cpp-api.md").read_text()
    assert run_script(ROOT / "scripts" / "cpp_docs.py") == committed, (
        "docs/cpp-api.md is stale: run /usr/bin/python3 scripts/cpp_docs.py > docs/cpp-api.md")


def test_result_tables_match_the_bench_json():
    run_script(ROOT / "bench" / "docs_tables.py", "--check")


def test_readme_is_a_front_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 250
    for needed in ("./scripts/setup.sh && ./scripts/build.sh && ./build/mfkit demo", "./scripts/test.sh",
                   "import mfkit", "build/mfkit train"):
        assert needed in readme
