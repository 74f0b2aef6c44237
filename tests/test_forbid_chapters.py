"""Evasion variants for every "must not call" routine of every real chapter.

For each file with a forbidden list and each routine on it, the reference plus one evasive
helper must be caught by the static scan, while the untouched reference must not be.
"""

import shutil
from pathlib import Path

import pytest

from leedl_grader import course as courses
from leedl_grader import forbid

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
        "eval": f"def _helper(*a):\n    return eval('{name}')\n",
    }


def reference_copy(tmp_path, ch):
    dest = tmp_path / ch.name
    shutil.copytree(REPO / "solutions" / ch.name, dest)
    return dest


@pytest.mark.parametrize("ch", courses.chapters(REPO), ids=lambda c: c.name)
def test_reference_is_not_forbidden(ch, tmp_path):
    src = reference_copy(tmp_path, ch)
    assert forbid.scan(ch, src, list(ch.files)) == {}


@pytest.mark.parametrize("ch, file, name", CASES, ids=[f"{c.short}-{f}-{n}" for c, f, n in CASES])
def test_every_evasion_of_every_forbidden_routine_is_caught(ch, file, name, tmp_path):
    for kind, code in evasions(name).items():
        src = reference_copy(tmp_path / kind, ch)
        (src / file).write_text((src / file).read_text() + "\n\n" + code)
        hits = forbid.scan(ch, src, list(ch.files))
        assert file in hits, f"{kind} evasion of {name} in {file} not caught"
        assert hits[file].startswith("forbidden:")


@pytest.mark.parametrize("ch, file, name", CASES[:1] + CASES[-1:], ids=lambda x: getattr(x, "name", str(x)))
def test_alias_through_a_sibling_file_is_caught(ch, file, name, tmp_path):
    src = reference_copy(tmp_path, ch)
    module, _, attr = name.rpartition(".")
    (src / "_sneaky.py").write_text(f"import {module} as _m\nroutine = _m.{attr}\n")
    (src / file).write_text((src / file).read_text() + "\nfrom ._sneaky import routine as _r\n")
    hits = forbid.scan(ch, src, list(ch.files))
    assert file in hits and "_sneaky.py" in hits[file]
