"""The code stays lint-clean (ruff, configured in pyproject.toml)."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_ruff_is_clean():
    if shutil.which("ruff") is None:
        pytest.fail("ruff is part of the test extra: pip install -e '.[test]'")
    r = subprocess.run(["ruff", "check", "leedl_grader", "solutions", "tests", "benchmarks"], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
