"""The built wheel holds the engine and the CLI only: no reference, no hidden check, no stub."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_has_engine_only(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("leedl-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert "leedl_grader" in tops
    assert not [t for t in tops if t not in ("leedl_grader",) and not t.endswith(".dist-info")], tops
    assert not [n for n in names if "solutions" in n or "hidden" in n or "assignments" in n]
    assert any(n.endswith("entry_points.txt") for n in names)
