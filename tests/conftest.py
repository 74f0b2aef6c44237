import shutil
from pathlib import Path

import pytest

pytest_plugins = ["chapter_times"]  # prints the seconds each chapter adds to the suite

REPO = Path(__file__).resolve().parent.parent
FIXTURE_COURSE = Path(__file__).resolve().parent / "fixtures" / "course"


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    """A private copy of the tiny fixture course (ch99_demo), set as the course root."""
    dest = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("LEEDL_COURSE", str(dest))
    return dest


def write_submission(root: Path, name: str, source: str) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "ops.py").write_text(source)
    return d


GOOD_OPS = (FIXTURE_COURSE / "solutions" / "ch99_demo" / "ops.py").read_text()
