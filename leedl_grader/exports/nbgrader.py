"""nbgrader source notebooks for a chapter, written from the reference.

``leedl nbgrader chNN --course-dir COURSE`` writes ``COURSE/source/<assignment>/<chapter>.ipynb``
and, beside it, the chapter's student bundle (stubs, public checks and data, ``chapter.toml``), so
that ``nbgrader generate_assignment`` releases both. The notebook holds:

* one *solution* cell per stub file, ``%%writefile <chapter>/<file>.py`` then the reference with
  each solution region inside a function turned into nbgrader's ``### BEGIN SOLUTION`` /
  ``### END SOLUTION`` (nbgrader replaces it by its own stub on release) and each module-level
  region removed, as ``leedl build`` does; the file lands in the chapter's package folder, so
  sibling imports work;
* after it, one locked *grade* cell per exercise of the file, whose points are leedl's maximum for
  the exercise and which holds no test code: leedl's preprocessor
  (:mod:`leedl_grader.exports.nbgrader_grade`) writes the score and leedl's message into it;
* a last locked cell that runs the public self-check (``leedl check``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from ..course import chapters as courses
from ..course.markers import _MARKER, clear_solutions
from ..course.release import release

NB_BEGIN, NB_END = "### BEGIN SOLUTION", "### END SOLUTION"
CONFIG_LINE = ('c.Autograde.autograde_preprocessors = ["leedl_grader.exports.nbgrader_grade.LeedlGrade", '
               '"nbgrader.preprocessors.IgnorePattern", "nbconvert.preprocessors.ClearMetadataPreprocessor", '
               '"nbgrader.preprocessors.LimitOutput", "nbgrader.preprocessors.SaveAutoGrades", '
               '"nbgrader.preprocessors.AssignLatePenalties", "nbgrader.preprocessors.CheckCellMetadata"]')
WRITEFILE = re.compile(r"^%%writefile(\s+-a)?\s+(\S+)\s*$")


def file_grade_id(file: str) -> str:
    return "leedl-file-" + file[:-3]


def exercise_grade_id(exercise: str) -> str:
    """Exercise names are ``FILE.NAME`` (identifiers and one dot): ``-`` keeps the id reversible."""
    return "leedl-" + exercise.replace(".", "-")


def nbgrader_source(text: str, filename: str = "<source>") -> tuple[str, bool]:
    """The reference with nbgrader's markers; True when at least one region is inside a function."""
    clear_solutions(text, filename=filename)  # the same strict checks as ``leedl build``
    out, inside, skipping, any_inside = [], False, False, False
    for line in text.splitlines(keepends=True):
        m = _MARKER.match(line.rstrip("\n"))
        if m is None:
            if not skipping:
                out.append(line)
            continue
        indent, kind, _ = m.groups()
        if kind == "BEGIN":
            inside, skipping = True, not indent
            any_inside |= bool(indent)
            if indent:
                out.append(f"{indent}{NB_BEGIN}\n")
        else:
            if indent:
                out.append(f"{indent}{NB_END}\n")
            inside = skipping = False
    assert not inside
    return re.sub(r"\n{4,}", "\n\n\n", "".join(out)), any_inside


def _cell(kind: str, source: str, nbgrader: dict | None = None, locked: bool = False) -> dict:
    meta: dict = {}
    if nbgrader is not None:
        meta["nbgrader"] = {"schema_version": 3, "solution": False, "grade": False, "locked": False, **nbgrader}
    if locked:
        meta.update(deletable=False, editable=False)
    cell = {"cell_type": kind, "metadata": meta, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def exercise_points(chapter: courses.Chapter) -> dict[str, float]:
    """leedl's maximum per exercise: public and hidden checks, as ``leedl grade`` scores them."""
    points = {e.name: 0.0 for e in chapter.exercises}
    for kind in ("public", "hidden"):
        for c in courses.load_suite(chapter, kind):
            points[c.exercise] += c.points
    return {k: round(v, 6) for k, v in points.items()}


def notebook(course: Path, chapter: courses.Chapter) -> dict:
    points = exercise_points(chapter)
    ref = Path(course) / "solutions" / chapter.name
    cells = [_cell("markdown", (
        f"# {chapter.name} — {chapter.title}\n\n"
        f"Each code cell below writes one file of the package `{chapter.name}/`. Implement the functions "
        "where it says `# YOUR CODE HERE` (delete the `raise NotImplementedError()`), run the cell to save "
        "the file, and run the last cell to check your work. Only what these cells write is graded, by "
        "leedl: the public checks of the last cell and hidden checks of the same contract (other shapes, "
        "dtypes, seeds and edge cases). Do not rename this notebook.\n"))]
    for file in chapter.files:
        src = (ref / file).read_text(encoding="utf-8")
        body, graded = nbgrader_source(src, filename=str(ref / file))
        exercises = [e for e in chapter.exercises if e.file == file]
        listing = "\n".join(f"- `{e.name.split('.', 1)[1]}` ({points[e.name]:g} points)" for e in exercises)
        cells.append(_cell("markdown", f"## `{file}`\n\n{listing}\n"))
        header = f"%%writefile {chapter.name}/{file}\n"
        meta = {"solution": True, "grade_id": file_grade_id(file)} if graded else None
        cells.append(_cell("code", header + body, meta))
        for e in exercises:
            cells.append(_cell("code", (
                f"# {e.name}: {points[e.name]:g} points, graded by leedl in a sandbox (public and hidden checks).\n"
                "# After grading, your score and leedl's message for this exercise appear below.\n"),
                {"grade": True, "locked": True, "grade_id": exercise_grade_id(e.name), "points": points[e.name]},
                locked=True))
    cells.append(_cell("markdown", "## Check your work\n\nRun the cells above, then this one (public checks only).\n"))
    cells.append(_cell("code", f"!leedl check {chapter.short} {chapter.name}\n",
                       {"locked": True, "grade_id": "leedl-self-check"}, locked=True))
    for i, cell in enumerate(cells):  # nbformat 4.5 ids: the grade id where there is one
        cell["id"] = cell["metadata"].get("nbgrader", {}).get("grade_id") or f"leedl-cell-{i}"
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "leedl": {"chapter": chapter.name},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_source(course: Path, chapter: courses.Chapter, course_dir: Path, assignment: str) -> Path:
    """``course_dir/source/<assignment>/<chapter>.ipynb`` and the student bundle beside it."""
    dest = Path(course_dir) / "source" / assignment
    dest.mkdir(parents=True, exist_ok=True)
    staging = dest / ".leedl-bundle"
    if staging.exists():
        shutil.rmtree(staging)
    try:
        bundle = release(Path(course), chapter, staging)  # refuses stale stubs; never hidden or reference
        if (dest / chapter.name).exists():
            shutil.rmtree(dest / chapter.name)
        shutil.move(str(bundle), dest / chapter.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    nb = dest / f"{chapter.name}.ipynb"
    nb.write_text(json.dumps(notebook(course, chapter), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return nb


def config_text(course: Path) -> str:
    return ("# leedl grades every notebook in its sandbox instead of executing it (leedl nbgrader).\n"
            f"{CONFIG_LINE}\n"
            f"c.LeedlGrade.course = {str(Path(course).resolve())!r}\n")
