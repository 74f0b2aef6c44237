"""The nbgrader round trip with real nbgrader, offline, in a temporary course directory.

``leedl nbgrader ch01`` writes the source notebook; nbgrader adds the assignment and students,
generates the release, autogrades four submissions with leedl's preprocessor (one line of
nbgrader_config.py), generates feedback and exports grades. Students: one who wrote the
reference, one with a bug of the zoo, one whose ``step_decay`` calls ``os._exit``, and one who
filled only the function bodies of the *released* notebook.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sandbox_util import require_nbgrader, require_strict

from leedl_grader.course import chapters as courses
from leedl_grader.exports import nbgrader as nbg

require_nbgrader()

REPO = Path(__file__).resolve().parent.parent
CHAPTER = "ch01_optimization"
NOTEBOOK = f"{CHAPTER}.ipynb"
BUG = {"file": "critical_points.py", "exercise": "critical_points.hessian",
       "old": "H = torch.zeros(n, n, dtype=theta.dtype, device=theta.device)",
       "new": "H = torch.zeros(n, n, device=theta.device)"}  # zoo: hessian_default_dtype_matrix
STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]


def _nbgrader(course_dir, *args):
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("LEEDL_COURSE", None)
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} exited {run.returncode}:\n{run.stderr[-4000:]}"
    return run.stdout + run.stderr


def _regions(source: str) -> list[list[str]]:
    """Bodies of nbgrader solution regions, in order."""
    out, cur = [], None
    for line in source.splitlines():
        if line.strip() == nbg.NB_BEGIN:
            cur = []
        elif line.strip() == nbg.NB_END:
            out.append(cur)
            cur = None
        elif cur is not None:
            cur.append(line)
    return out


def _fill(released: str, bodies: list[list[str]], override: dict[int, list[str]] | None = None) -> str:
    """The released cell with each ``# YOUR CODE HERE`` stub replaced by the next body."""
    lines, out, k = released.splitlines(), [], 0
    i = 0
    while i < len(lines):
        if lines[i].strip() == STUB[0] and i + 1 < len(lines) and lines[i + 1].strip() == STUB[1]:
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            body = (override or {}).get(k)
            out += [indent + b for b in body] if body is not None else bodies[k]
            k += 1
            i += 2
            continue
        out.append(lines[i])
        i += 1
    assert k == len(bodies), "every released stub is filled"
    return "\n".join(out) + "\n"


def _read(path):
    """A notebook as plain data, each cell's source one string."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    for c in nb["cells"]:
        c["source"] = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
    return nb


def _cells(nb):
    return {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in nb["cells"]}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def _visible_text(html_text: str) -> str:
    p = _Text()
    p.feed(html_text)
    return "".join(p.parts)


def _code_lines(path: Path) -> set[str]:
    """Distinctive code lines of a file (long enough to be unmistakable)."""
    found = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        s = line.strip()
        if len(s) >= 24 and not s.startswith(("#", '"', "'")) and re.search(r"[=(\[]", s):
            found.add(s)
    return found


@pytest.mark.slow
def test_nbgrader_round_trip_ch01(tmp_path):
    require_strict()
    root = tmp_path / "course"
    from leedl_grader import api

    nb_path, config = api.nbgrader_source("ch01", root, "ch01", course=REPO)
    assert config is not None and nbg.CONFIG_LINE in config.read_text()
    source_nb = _read(nb_path)

    _nbgrader(root, "db", "assignment", "add", "ch01")
    students = ["correct", "buggy", "exits", "filled"]
    for s in students:
        _nbgrader(root, "db", "student", "add", s, "--first-name", s.title(), "--last-name", "Student")
    _nbgrader(root, "generate_assignment", "ch01")
    released = _read(root / "release" / "ch01" / NOTEBOOK)
    released_text = json.dumps(released)
    assert "BEGIN SOLUTION" not in released_text
    ref_lines = set().union(*(_code_lines(p) for p in (REPO / "solutions" / CHAPTER).glob("*.py")))
    stub_lines = set().union(*(_code_lines(p) for p in (REPO / "assignments" / CHAPTER).glob("*.py")))
    solution_only = ref_lines - stub_lines  # lines of solution regions
    assert solution_only and not any(line in released_text for line in solution_only)

    ch = courses.resolve_chapter(REPO, "ch01")
    points = nbg.exercise_points(ch)
    step = [e.name for e in ch.exercises if e.file == "schedules.py"].index("schedules.step_decay")

    def submit(student, nb):
        d = root / "submitted" / student / "ch01"
        d.mkdir(parents=True)
        (d / NOTEBOOK).write_text(json.dumps(nb), encoding="utf-8")
        shutil.copytree(root / "release" / "ch01" / CHAPTER, d / CHAPTER)  # as a student's folder has it

    submit("correct", source_nb)
    buggy = json.loads(json.dumps(source_nb))
    cell = _cells(buggy)[nbg.file_grade_id(BUG["file"])]
    assert cell["source"].count(BUG["old"]) == 1
    cell["source"] = cell["source"].replace(BUG["old"], BUG["new"])
    submit("buggy", buggy)
    for student, override in (("filled", {}), ("exits", {"schedules.py": {step: ["import os", "os._exit(3)"]}})):
        nb = json.loads(json.dumps(released))
        src_cells = _cells(source_nb)
        for file in ch.files:
            gid = nbg.file_grade_id(file)
            _cells(nb)[gid]["source"] = _fill(_cells(nb)[gid]["source"], _regions(src_cells[gid]["source"]),
                                              override.get(file))
        submit(student, nb)

    log = _nbgrader(root, "autograde", "ch01")  # exits 0: the crash cost only what it broke
    assert "leedl: exits ch01_optimization" in log
    _nbgrader(root, "generate_feedback", "ch01")
    _nbgrader(root, "export")

    from nbgrader.api import Gradebook

    leedl = {s: json.loads((root / "autograded" / s / "ch01" / f"{CHAPTER}.leedl.json").read_text())
             for s in students}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        totals = {s: gb.find_submission("ch01", s).score for s in students}
        cells = {s: {g.name: (g.score, g.max_score, g.needs_manual_grade)
                     for n in gb.find_submission("ch01", s).notebooks for g in n.grades} for s in students}
    maximum = sum(points.values())
    for s in students:
        per = {}
        for t in leedl[s]["tests"]:
            per[t["exercise"]] = per.get(t["exercise"], 0.0) + t["score"]
        assert cells[s] == {nbg.exercise_grade_id(e): (pytest.approx(per[e], abs=1e-9), points[e], False)
                            for e in points}, s
        assert leedl[s]["sandbox"] == "strict"
    print("gradebook.db totals:", totals, "of", maximum)
    assert totals["correct"] == totals["filled"] == maximum
    lost = [e for e in points if cells["buggy"][nbg.exercise_grade_id(e)][0] < points[e]]
    assert lost == [BUG["exercise"]], lost  # the bug costs its own exercise, nothing else
    assert totals["exits"] == maximum - points["schedules.step_decay"]
    assert {t["outcome"] for t in leedl["exits"]["tests"] if t["exercise"] == "schedules.step_decay"} == {"crashed"}

    with open(root / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert {s: float(rows[s]["score"]) for s in students} == totals
    assert all(float(rows[s]["max_score"]) == maximum for s in students)

    hidden = set().union(*(_code_lines(p) for p in (REPO / "assignments" / CHAPTER / "hidden").glob("*.py")))
    assert hidden
    exit_body = {line.strip() for line in _regions(_cells(source_nb)[nbg.file_grade_id("schedules.py")]["source"])[step]
                 if len(line.strip()) >= 24}
    pages = [(s, root / "feedback" / s / "ch01" / f"{CHAPTER}{suffix}") for s in students
             for suffix in (".html", ".leedl.html")]  # nbgrader's feedback and leedl's page
    for s, page in pages:
        text = _visible_text(page.read_text(encoding="utf-8"))
        assert not [line for line in hidden if line in text], s  # no hidden check's code
        submitted = json.dumps(json.loads((root / "submitted" / s / "ch01" / NOTEBOOK).read_text()))
        leaked = [line for line in solution_only if line in text and json.dumps(line)[1:-1] not in submitted]
        assert not leaked, (s, leaked[:3])  # reference code only where the student wrote it
        assert "sandbox strict" in text and (page.name.endswith(".leedl.html") or "graded by leedl" in text)
    exits_text = _visible_text((root / "feedback" / "exits" / "ch01" / f"{CHAPTER}.html").read_text())
    assert exit_body and not [line for line in exit_body if line in exits_text]
    assert "crashed" in exits_text
