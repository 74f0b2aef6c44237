"""nbgrader source notebooks and the autograde preprocessor, on the fixture chapter (fast).

The round trip through real nbgrader is tests/test_nbgrader_e2e.py."""

import math
import os
import sys

import pytest
from sandbox_util import require_nbgrader, require_strict

from leedl_grader.course import chapters as courses
from leedl_grader.course.markers import MarkerError
from leedl_grader.exports import nbgrader as nbg
from leedl_grader.sandbox import modes as sandbox

require_nbgrader()
import nbformat  # noqa: E402

from leedl_grader.exports import nbgrader_grade  # noqa: E402


@pytest.fixture(autouse=True)
def _forget_loaded_suites():
    """The fixture course is a fresh copy per test: forget its suites and reference once done, so that
    no later test imports them from this test's folder."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith(("_leedl_suites.", "_leedl_reference.")):
            del sys.modules[name]


REF = '''import torch

# BEGIN SOLUTION
import math
# END SOLUTION


def f(x):
    """doc"""
    # BEGIN SOLUTION
    return x * math.pi
    # END SOLUTION


class A:
    def g(self):
        # BEGIN SOLUTION
        return 1
        # END SOLUTION
'''


def test_solution_regions_become_nbgrader_markers_module_regions_go():
    text, graded = nbg.nbgrader_source(REF)
    assert graded
    assert "import math" not in text  # a module-level region is removed, as `leedl build` does
    assert "    ### BEGIN SOLUTION\n    return x * math.pi\n    ### END SOLUTION\n" in text
    assert "        ### BEGIN SOLUTION\n        return 1\n        ### END SOLUTION\n" in text
    assert "# BEGIN SOLUTION" not in text.replace("### BEGIN SOLUTION", "")
    with pytest.raises(MarkerError, match="never closed"):
        nbg.nbgrader_source("def f():\n    # BEGIN SOLUTION\n    return 1\n")


def _chapter(course):
    return courses.resolve_chapter(course, "ch99")


def test_source_notebook_cells(course):
    ch = _chapter(course)
    nb = nbg.notebook(course, ch)
    nbformat.validate(nbformat.from_dict(nb))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    sol = [c for c in code if c["metadata"].get("nbgrader", {}).get("solution")]
    assert [c["source"].splitlines()[0] for c in sol] == ["%%writefile ch99_demo/ops.py"]
    grade = [c for c in code if c["metadata"].get("nbgrader", {}).get("grade")]
    points = {e: 0.0 for e in ("ops.double", "ops.softplus")}
    for kind in ("public", "hidden"):
        for c in courses.load_suite(ch, kind):
            points[c.exercise] += c.points
    assert {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"] for c in grade} == {
        "leedl-ops-double": points["ops.double"], "leedl-ops-softplus": points["ops.softplus"]}
    for c in grade:  # locked, and no test code: comments only
        assert c["metadata"]["nbgrader"]["locked"] and c["metadata"]["editable"] is False
        assert all(line.startswith("#") for line in c["source"].splitlines())
    assert code[-1]["source"] == "!leedl check ch99 ch99_demo\n" and code[-1]["metadata"]["nbgrader"]["locked"]


def _grade(course, nb, tmp_path, **config):
    pp = nbgrader_grade.LeedlGrade(course=str(course), seed=5, **config)
    resources = {"nbgrader": {"notebook": "ch99_demo", "student": "ann", "assignment": "a"},
                 "metadata": {"path": str(tmp_path)}}
    nb, _ = pp.preprocess(nbformat.from_dict(nb), resources)
    return nb


def _with_code(nb, new_source):
    for c in nb["cells"]:
        if c["source"].startswith("%%writefile"):
            c["source"] = new_source
    return nb


def _scores(nb):
    from nbgrader.utils import determine_grade

    return {c.metadata.nbgrader.grade_id: determine_grade(c)[0] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")}


def test_preprocessor_writes_scores_nbgrader_records_exactly(course, tmp_path):
    require_strict()
    ch = _chapter(course)
    nb = nbg.notebook(course, ch)
    graded = _grade(course, nb, tmp_path)
    full = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"]
            for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")}
    assert _scores(graded) == full
    for c in graded.cells:
        if c.metadata.get("nbgrader", {}).get("grade"):
            kinds = [(o.output_type, o.get("name")) for o in c.outputs]
            assert kinds == [("stream", "stdout"), ("execute_result", None)]  # never stderr
            assert "passed" in c.outputs[0].text and "sandbox strict" in c.outputs[0].text
    assert (tmp_path / "ch99_demo.leedl.json").is_file()

    # A crash in one exercise costs that exercise only; a raise costs its exercise.
    broken = _with_code(nbg.notebook(course, ch), "%%writefile ch99_demo/ops.py\nimport os\nimport torch\n\n"
                        "def double(x):\n    os._exit(3)\n\n"
                        "def softplus(x):\n    return torch.logaddexp(x, torch.zeros_like(x))\n")
    scores = _scores(_grade(course, broken, tmp_path))
    assert scores == {"leedl-ops-double": 0.0, "leedl-ops-softplus": full["leedl-ops-softplus"]}

    # Text that is no UTF-8 (a lone surrogate, legal in a notebook's JSON) costs that file only.
    odd = _with_code(nbg.notebook(course, ch), '%%writefile ch99_demo/ops.py\nX = "\ud800"\n')
    assert _scores(_grade(course, odd, tmp_path)) == {"leedl-ops-double": 0.0, "leedl-ops-softplus": 0.0}


def test_score_text_is_clamped_plain_float():
    assert nbgrader_grade.score_text(9.0, 8.5) == "8.5"
    assert nbgrader_grade.score_text(-1.0, 8.5) == "0.0"
    assert nbgrader_grade.score_text(math.nan, 8.5) == "0.0"
    assert float(nbgrader_grade.score_text(1 / 3, 1.0)) == round(1 / 3, 6)


def test_without_strict_isolation_refuses_unless_insecure(course, tmp_path, monkeypatch):
    """nbgrader run by the instructor, not root: no boundary, so no grading unless insecure."""
    monkeypatch.setattr(sandbox, "strict_available", lambda: (False, "namespaces and a separate uid need root"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    nb = nbg.notebook(course, _chapter(course))
    with pytest.raises(nbgrader_grade.LeedlGradeError, match="insecure = True"):
        _grade(course, nb, tmp_path)
    graded = _grade(course, nb, tmp_path, insecure=True)
    texts = [c.outputs[0].text for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert texts and all("sandbox process" in t for t in texts)


def test_last_writefile_cell_wins_and_other_paths_are_ignored(course):
    ch = _chapter(course)
    nb = nbformat.from_dict({"cells": [
        {"cell_type": "code", "source": "%%writefile ch99_demo/ops.py\nA = 1\n", "metadata": {}, "outputs": [],
         "execution_count": None},
        {"cell_type": "code", "source": "%%writefile ../elsewhere/ops.py\nB = 1\n", "metadata": {}, "outputs": [],
         "execution_count": None},
        {"cell_type": "code", "source": "%%writefile ch99_demo/ops.py\nC = 1\n", "metadata": {}, "outputs": [],
         "execution_count": None},
        {"cell_type": "code", "source": "%%writefile -a ch99_demo/ops.py\nD = 1\n", "metadata": {}, "outputs": [],
         "execution_count": None},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    assert nbgrader_grade.submitted_files(nb, ch) == {"ops.py": "C = 1\nD = 1\n"}
