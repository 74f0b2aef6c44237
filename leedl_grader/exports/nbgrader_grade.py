"""nbgrader's autograde, with leedl grading each notebook in its sandbox instead of executing it.

Configured by one line of ``nbgrader_config.py`` (see :data:`.nbgrader.CONFIG_LINE`), which puts
:class:`LeedlGrade` where nbgrader's ``Execute`` was; nbgrader keeps its database, late
penalties, formgrader, feedback and export. For each submitted notebook (already sanitized by
nbgrader: grade cells and their points restored from its database), ``LeedlGrade``:

1. takes the files the notebook's ``%%writefile <chapter>/<file>.py`` cells write (the last cell
   for a file wins, as running the notebook would) — nothing of the notebook is executed;
2. grades them as ``leedl grade`` does: a sandboxed process per submission, public and hidden
   checks, speed, must-not-call, every outcome; a crash, hang or ``os._exit`` costs only the checks
   it broke, and the notebook is still graded;
3. writes into each exercise's grade cell leedl's message as text (a stdout stream) and the score
   as the cell's result: a plain float, clamped to the cell's points, with no stderr — the form
   nbgrader records exactly (an error or any stderr would record 0, an unparsable value full
   marks, a value above the points would fail the notebook);
4. saves leedl's result file and feedback page, ``<chapter>.leedl.json`` and ``.leedl.html``, beside
   the autograded notebook (``nbgrader generate_feedback`` hands both to the student).

Isolation: nbgrader usually runs as the instructor, not root. There the strict sandbox is not
available and the student's code would run as the instructor's uid, able to read the reference,
the hidden checks and ``gradebook.db`` and to rewrite them. ``LeedlGrade`` refuses that unless
``c.LeedlGrade.insecure = True``; run ``nbgrader autograde`` as root (``sudo -E``) to grade in the
strict sandbox.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from .. import api
from ..course import chapters as courses
from ..judge import batch, results
from ..judge.runner import JudgeOptions
from ..judge.submissions import Submission
from ..model import SubmissionResult
from . import html
from .nbgrader import WRITEFILE, exercise_grade_id


class LeedlGradeError(Exception):
    pass


def submitted_files(nb, chapter: courses.Chapter) -> dict[str, str]:
    """``{file: text}`` as running the notebook's ``%%writefile`` cells would leave the chapter's files."""
    files: dict[str, str] = {}
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        first, _, body = source.partition("\n")
        m = WRITEFILE.match(first.strip())
        if m is None:
            continue
        target = os.path.normpath(m.group(2).strip("'\""))
        folder, _, file = target.rpartition(os.sep)
        if folder != chapter.name or file not in chapter.files:
            continue
        files[file] = (files.get(file, "") + body) if m.group(1) else body
    return files


def cell_message(result: SubmissionResult, exercise: str) -> str:
    ex = next((e for e in result.exercises() if e.name == exercise), None)
    if ex is None:
        return f"{exercise}: not graded (the chapter has no such exercise)\n"
    lines = [f"{exercise}: {ex.score:g}/{ex.max_score:g} ({ex.outcome.value})"]
    for r in result.results:
        if r.exercise != exercise:
            continue
        hidden = "" if r.visibility == "visible" else " (hidden)"
        speed = f" [speed {r.ratio:.2f}x the yardstick]" if r.ratio is not None else ""
        msg = f": {r.message}" if r.message else ""
        lines.append(f"  {r.outcome.value:9} {r.score:g}/{r.max_score:g}  {r.name}{hidden}{speed}{msg}")
    lines.append(f"seed {result.seed} · sandbox {result.sandbox} · leedl {result.leedl_version}")
    return "\n".join(lines) + "\n"


def score_text(score: float, points: float) -> str:
    """A plain float nbgrader parses exactly (``float(text)``): clamped to [0, points], never NaN."""
    score = 0.0 if score != score else min(max(float(score), 0.0), float(points))
    return repr(round(score, 6))


class LeedlGrade(NbGraderPreprocessor):
    """Grade the notebook with leedl and write each exercise's score into its grade cell."""

    course = Unicode("", help="The leedl course root (assignments/, solutions/). Default: $LEEDL_COURSE, else "
                              "the nearest folder above the working directory holding assignments/.").tag(config=True)
    insecure = Bool(False, help="Grade even where the strict sandbox is unavailable (the student's code then "
                                "runs as this user and can read and rewrite what this user can).").tag(config=True)
    seed = Integer(None, allow_none=True, help="Seed of the checks' inputs (default: a new one per notebook, "
                                               "recorded in each grade cell).").tag(config=True)
    device = Unicode("cpu", help="Where the checks put their tensors (cpu, cuda).").tag(config=True)

    def _chapter(self, resources) -> tuple[Path, courses.Chapter]:
        root = Path(self.course).expanduser().resolve() if self.course else courses.find_course()
        if root is None or not (root / "assignments").is_dir():
            raise LeedlGradeError("leedl: set c.LeedlGrade.course in nbgrader_config.py to the leedl course root")
        name = resources["nbgrader"]["notebook"]
        try:
            return root, courses.resolve_chapter(root, name)
        except courses.CourseError as exc:
            raise LeedlGradeError(f"leedl: notebook {name!r} is not a chapter of {root}: {exc}") from None

    def preprocess(self, nb, resources):
        root, chapter = self._chapter(resources)
        try:
            mode = api.sandbox_mode(require_strict=True, insecure=self.insecure)
        except api.LeedlError as exc:
            raise LeedlGradeError(f"leedl refuses to grade: {exc} (nbgrader: c.LeedlGrade.insecure = True)") from None
        student = str(resources["nbgrader"].get("student", "student"))
        files = submitted_files(nb, chapter)
        seed = batch.new_seed() if self.seed is None else int(self.seed)
        suite = batch.Suite(course=str(root), chapter=chapter.name, kinds=("public", "hidden"))
        with tempfile.TemporaryDirectory(prefix="leedl-nb-") as tmp:
            folder = Path(tmp) / chapter.name
            folder.mkdir()
            init = chapter.root / "__init__.py"
            if init.is_file():
                (folder / "__init__.py").write_text(init.read_text(encoding="utf-8"), encoding="utf-8")
            for file, text in files.items():
                # A lone surrogate cannot be UTF-8: written as is, Python refuses that file, which
                # costs its exercises (an error), never the notebook's other marks or the run.
                (folder / file).write_bytes(text.encode("utf-8", errors="surrogatepass"))
            (result,) = batch.grade_many(suite, [Submission(student, folder)], None,
                                         JudgeOptions(mode=mode, device=self.device), seed=seed, jobs=1, force=True)
        self.log.info("leedl: %s %s %g/%g (seed %d, sandbox %s)", student, chapter.name, result.score,
                      result.max_score, seed, mode)
        ids = {exercise_grade_id(e.name): e.name for e in chapter.exercises}
        per = {e.name: e.score for e in result.exercises()}
        count = 0
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("grade_id") not in ids:
                continue
            exercise = ids[meta["grade_id"]]
            count += 1
            cell["execution_count"] = count
            cell["outputs"] = [
                new_output("stream", name="stdout", text=cell_message(result, exercise)),
                new_output("execute_result", execution_count=count,
                           data={"text/plain": score_text(per.get(exercise, 0.0), float(meta.get("points", 0.0)))}),
            ]
        where = resources.get("metadata", {}).get("path")
        if where:  # beside the autograded notebook; generate_feedback copies both into feedback/
            results.atomic_write(Path(where) / f"{chapter.name}.leedl.json",
                                 json.dumps(results.to_json(result), indent=2, ensure_ascii=False) + "\n")
            results.atomic_write(Path(where) / f"{chapter.name}.leedl.html", html.page(result))
        return nb, resources
