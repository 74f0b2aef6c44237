"""`leedl --help` and `leedl list` answer without importing torch (they start in well under a second)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from leedl_grader.course import chapters as courses

ROOT = Path(__file__).resolve().parent.parent
PROBE = ("import sys, json\nfrom leedl_grader.cli import main\ntry:\n    main({args!r}, standalone_mode=False)\n"
         "finally:\n    print(json.dumps(sorted(m for m in ('torch', 'numpy') if m in sys.modules)))")


def imported(args, cwd, env=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    r = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1]), r.stdout


def test_help_imports_neither_torch_nor_numpy(tmp_path):
    mods, out = imported(["--help"], tmp_path)
    assert mods == [] and "check" in out


def test_list_reads_points_without_importing_the_checks(course, tmp_path):
    mods, out = imported(["list"], tmp_path, {"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert mods == [] and "ops.double" in out


def test_list_of_the_course_imports_torch_once_then_never(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "LEEDL_COURSE": str(ROOT)}
    imported(["list"], tmp_path, env)  # checks made by a factory are imported once and cached
    mods, out = imported(["list"], tmp_path, env)
    assert mods == [] and "optimizers.Adam" in out


@pytest.mark.parametrize("chapter", courses.chapters(ROOT), ids=lambda c: c.name)
def test_points_read_from_the_decorators_are_those_the_checks_declare(chapter):
    for kind in ("public", "hidden"):
        declared = courses.declared_points(chapter, kind)
        real: dict[str, float] = {}
        for c in courses.load_suite(chapter, kind):
            real[c.exercise] = real.get(c.exercise, 0.0) + c.points
        assert declared is None or declared == real, kind
