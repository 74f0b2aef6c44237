"""Evasion variants for every "must not call" routine of every real chapter.

For each file with a forbidden list and each routine on it, the reference plus one evasive
helper must be caught by the static scan, while the untouched reference must not be.
"""

import shutil
from pathlib import Path

import pytest

from leedl_grader.course import chapters as courses
from leedl_grader.forbid import scan as forbid

REPO = Path(__file__).resolve().parent.parent
CASES = [
    (ch, e.file, name)
    for ch in courses.chapters(REPO)
    for e in ch.exercises
    for name in e.forbidden
    if e.name == next(x.name for x in ch.exercises if x.file == e.file)  # once per file
]


def evasions(name: str) -> dict[str, str]:
    module, _, attr = name.rpartition(".")
    head, _, last = attr.partition("_")
    return {
        "direct": f"import {module}\n\ndef _helper(*a):\n    return {name}\n",
        "alias": f"import {module} as _m\n\ndef _helper(*a):\n    return _m.{attr}\n",
        "from_import": f"from {module} import {attr} as _f\n\ndef _helper(*a):\n    return _f\n",
        "built_string_getattr": (f"import {module} as _m\n\ndef _helper(*a):\n"
                                 f"    return getattr(_m, '{attr[:2]}' + '{attr[2:]}')\n"),
        "importlib": f"import importlib\n\ndef _helper(*a):\n    return importlib.import_module('{module}')\n",
        "dunder_import": f"def _helper(*a):\n    return __import__('{module}')\n",
        "torch_ops": "import torch\n\ndef _helper(*a):\n    return torch.ops.aten\n",
        "late_import": f"def _helper(*a):\n    return _late.{attr}\n\n\nimport {module} as _late\n",
        "eval": f"def _helper(*a):\n    return eval('{name}')\n",
    }


def reference_copy(tmp_path, ch):
    dest = tmp_path / ch.name
    shutil.copytree(REPO / "solutions" / ch.name, dest, ignore=shutil.ignore_patterns(*courses.NOT_REFERENCE))
    return dest


@pytest.mark.parametrize("ch", courses.chapters(REPO), ids=lambda c: c.name)
def test_reference_is_not_forbidden(ch, tmp_path):
    src = reference_copy(tmp_path, ch)
    assert forbid.scan(ch, src, list(ch.files)) == {}


def wrap(exercise: str) -> str:
    """Make the exercise's top-level name reach ``_helper`` (as a student's helper call would)."""
    top = exercise.split(".")[1]
    return f"\n_original = {top}\n\n\ndef {top}(*a, **k):\n    _helper()\n    return _original(*a, **k)\n"


@pytest.mark.parametrize("ch, file, name", CASES, ids=[f"{c.short}-{f}-{n}" for c, f, n in CASES])
def test_every_evasion_of_every_forbidden_routine_is_caught(ch, file, name, tmp_path):
    exercises = [e.name for e in ch.exercises if e.file == file]
    for kind, code in evasions(name).items():
        src = reference_copy(tmp_path / kind, ch)
        (src / file).write_text((src / file).read_text() + "\n\n" + code + wrap(exercises[0]))
        assert file in forbid.scan(ch, src, list(ch.files)), f"{kind} evasion of {name} in {file} not caught"
        hits = forbid.scan_exercises(ch, src, list(ch.files))
        # The hit costs the exercise that reaches it, and no other exercise of the file. (Another
        # file that imports this one scans it under its own rules, so its exercises may pay too.)
        assert set(hits) & set(exercises) == {exercises[0]}, f"{kind} evasion of {name}: {sorted(hits)}"
        assert hits[exercises[0]].startswith("forbidden:") and " line " in hits[exercises[0]]


@pytest.mark.parametrize("ch", courses.chapters(REPO), ids=lambda c: c.name)
def test_code_that_runs_at_import_costs_every_exercise_of_its_file(ch, tmp_path):
    file = next((e.file for e in ch.exercises if e.forbidden), None)
    if file is None:
        pytest.skip(f"{ch.name} has no must-not-call list")
    src = reference_copy(tmp_path, ch)
    (src / file).write_text((src / file).read_text() + "\nimport importlib\nimportlib.import_module('torch')\n")
    hits = forbid.scan_exercises(ch, src, list(ch.files))
    assert set(hits) == {e.name for e in ch.exercises if e.file == file}


@pytest.mark.parametrize("ch, file, name", CASES[:1] + CASES[-1:], ids=lambda x: getattr(x, "name", str(x)))
def test_alias_through_a_sibling_file_is_caught(ch, file, name, tmp_path):
    src = reference_copy(tmp_path, ch)
    module, _, attr = name.rpartition(".")
    (src / "_sneaky.py").write_text(f"import {module} as _m\nroutine = _m.{attr}\n")
    (src / file).write_text((src / file).read_text() + "\nfrom ._sneaky import routine as _r\n")
    hits = forbid.scan(ch, src, list(ch.files))
    assert file in hits and "_sneaky.py" in hits[file]
    exercise = next(e.name for e in ch.exercises if e.file == file)
    (src / file).write_text((src / file).read_text() + "\n\ndef _helper():\n    return _r\n" + wrap(exercise))
    hits = forbid.scan_exercises(ch, src, list(ch.files))
    assert exercise in hits and "_sneaky.py" in hits[exercise]
