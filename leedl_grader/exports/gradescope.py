"""The Gradescope autograder: ``leedl gradescope chNN --out autograder.zip``.

The zip holds what Gradescope expects at its root — ``setup.sh`` (run once when Gradescope
builds the image: a virtual environment with the pinned torch and leedl) and
``run_autograder`` (run for every submission) — and beside them leedl's package, the chapter's
checks (hidden ones included) and its reference. Gradescope unpacks the zip into
``/autograder/source``; the student's files arrive in ``/autograder/submission``; results go to
``/autograder/results/results.json`` in Gradescope's documented format. Everything under
``/autograder`` can be moved with ``LEEDL_AUTOGRADER_ROOT`` (the tests use a temporary tree).

Isolation: the student's code runs in the sandbox ``leedl grade`` would use here
(:func:`leedl_grader.api.sandbox_mode`): strict where namespaces are allowed, else (Gradescope runs
as root, and its containers usually refuse namespaces) a dedicated unprivileged uid. Where neither
is possible (not root), results.json says why and the run fails; ``leedl gradescope --insecure``
writes a run_autograder that grades anyway in a plain separate process, where the student's code
can forge its own results.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import leedl_grader

from .. import __version__, api
from ..course import chapters as courses
from ..judge import batch
from ..judge.results import atomic_write, to_record
from ..judge.runner import JudgeOptions
from ..judge.submissions import Submission, SubmissionError, chapter_folder, safe_extract
from ..model import Outcome, SubmissionResult

VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")
SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
cd "$(dirname "$0")"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip
python3 -m venv /autograder/leedl-venv
/autograder/leedl-venv/bin/pip install --upgrade pip
# The grading torch, pinned (CPU wheels), then leedl itself.
/autograder/leedl-venv/bin/pip install -c constraints.txt --extra-index-url https://download.pytorch.org/whl/cpu \\
    "torch=={torch}" ./leedl
"""
RUN = """#!/usr/bin/env bash
# Gradescope runs this as root for every submission: the student's files are in
# $ROOT/submission and the results go to $ROOT/results/results.json.
ROOT="${{LEEDL_AUTOGRADER_ROOT:-/autograder}}"
PY="${{LEEDL_PYTHON:-$ROOT/leedl-venv/bin/python}}"
exec "$PY" -m leedl_grader.exports.gradescope --root "$ROOT" --chapter {chapter}{insecure} "$@"
"""
PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "leedl"
version = "{version}"
requires-python = ">=3.10"
dependencies = ["numpy>=1.24", "torch>=2.1,<3", "click>=8.1", "rich>=13", "tomli>=2; python_version < '3.11'"]

[tool.setuptools.packages.find]
include = ["leedl_grader*"]
"""


def pinned_torch(course: Path) -> str:
    """The torch version every grade is computed with: the course's constraints.txt, else this one."""
    constraints = Path(course) / "constraints.txt"
    if constraints.is_file():
        for line in constraints.read_text().splitlines():
            if line.strip().startswith("torch=="):
                return line.strip().split("==", 1)[1].strip()
    import torch

    return torch.__version__.split("+", 1)[0]


def build_zip(course: Path, chapter: courses.Chapter, out: Path, *, insecure: bool = False) -> Path:
    """The zip; ``insecure`` lets run_autograder grade without strict isolation (see the module's note)."""
    course, out = Path(course), Path(out)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    torch_version = pinned_torch(course)
    with tempfile.TemporaryDirectory(prefix="leedl-gs-") as tmp:
        src = Path(tmp)
        shutil.copytree(Path(leedl_grader.__file__).parent, src / "leedl" / "leedl_grader", ignore=ignore)
        (src / "leedl" / "pyproject.toml").write_text(PYPROJECT.format(version=__version__))
        shutil.copytree(chapter.root, src / "course" / "assignments" / chapter.name, ignore=ignore)
        shutil.copytree(course / "solutions" / chapter.name, src / "course" / "solutions" / chapter.name,
                        ignore=shutil.ignore_patterns(".*", *courses.NOT_REFERENCE))
        (src / "constraints.txt").write_text(f"torch=={torch_version}\n")
        (src / "setup.sh").write_text(SETUP.replace("{torch}", torch_version))
        flag = " --insecure" if insecure else ""
        (src / "run_autograder").write_text(RUN.format(chapter=chapter.name, insecure=flag))
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(src.rglob("*")):
                if p.is_file():
                    info = zipfile.ZipInfo(str(p.relative_to(src)), date_time=(2020, 1, 1, 0, 0, 0))
                    executable = p.name in ("setup.sh", "run_autograder")
                    info.external_attr = (0o100755 if executable else 0o100644) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, p.read_bytes())
    return out


def results_json(result: SubmissionResult) -> dict:
    """Gradescope's results.json (documented keys only; leedl's lossless record in ``extra_data``)."""
    tests, order = [], {}
    for r in result.results:
        i = order.setdefault(r.exercise, len(order) + 1)
        n = sum(1 for t in tests if t["tags"][0] == r.exercise) + 1
        output = r.message if r.outcome is not Outcome.PASSED else "passed"
        if r.outcome is not Outcome.PASSED:
            output = f"[{r.outcome.value}] {r.message}"
        if r.ratio is not None:
            output += f" (speed: {r.ratio:.2f}x the yardstick's time)"
        tests.append({
            "name": f"{r.exercise}: {r.name}", "number": f"{i}.{n}", "score": r.score, "max_score": r.max_score,
            "status": r.outcome.gradescope_status, "output": output, "output_format": "text",
            "tags": [r.exercise, r.outcome.value],
            "visibility": "visible" if r.visibility == "visible" else "after_published",
        })
    notes = [f"leedl {result.leedl_version} · seed {result.seed} · sandbox {result.sandbox}", *result.notes]
    return {
        "score": result.score, "execution_time": max(1, round(result.execution_time)),
        "output": "\n".join(notes), "output_format": "text", "test_output_format": "text",
        "test_name_format": "text", "visibility": "visible", "stdout_visibility": "hidden",
        "tests": tests, "extra_data": {"leedl": to_record(result)},
    }


def run(root: Path, chapter_name: str, *, course: Path | None = None, insecure: bool = False,
        seed: int | None = None) -> int:
    """Grade ``root/submission`` and write ``root/results/results.json``; the exit status."""
    root = Path(root)
    course = Path(course) if course else root / "source" / "course"
    out = root / "results" / "results.json"
    try:
        course_root, ch = api.chapter(chapter_name, course)
        mode = api.sandbox_mode(require_strict=True, insecure=insecure)
    except (api.LeedlError, courses.CourseError) as exc:
        atomic_write(out, json.dumps({"score": 0.0, "output": f"The autograder could not run: {exc}",
                                      "output_format": "text", "visibility": "visible", "tests": []}, indent=2))
        print(f"leedl: {exc}", file=sys.stderr)
        return 1
    suite = batch.Suite(course=str(course_root), chapter=ch.name, kinds=("public", "hidden"))
    with tempfile.TemporaryDirectory(prefix="leedl-gs-sub-") as tmp:
        src = root / "submission"
        try:
            zips = sorted(src.glob("*.zip")) if src.is_dir() else []
            if src.is_dir() and not any(src.rglob("*.py")) and len(zips) == 1:
                safe_extract(zips[0], Path(tmp))  # a zip the student uploaded as it is
                src = Path(tmp)
            folder = chapter_folder(src, ch.name, ch.files) if src.is_dir() else src
        except SubmissionError as exc:
            folder = Path(tmp) / "empty"
            folder.mkdir()
            print(f"leedl: {exc}", file=sys.stderr)
        seed = batch.new_seed() if seed is None else seed
        (result,) = batch.grade_many(suite, [Submission("submission", folder)], None, JudgeOptions(mode=mode),
                                     seed=seed, jobs=1, force=True)
    atomic_write(out, json.dumps(results_json(result), indent=2, ensure_ascii=False) + "\n")
    print(f"leedl: {result.score:g}/{result.max_score:g} (seed {result.seed}, sandbox {result.sandbox})")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="run_autograder", description="leedl's Gradescope autograder")
    p.add_argument("--root", default="/autograder", type=Path)
    p.add_argument("--chapter", required=True)
    p.add_argument("--course", default=None, type=Path, help="default: ROOT/source/course")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--insecure", action="store_true", help="grade even without strict isolation")
    a = p.parse_args(argv)
    return run(a.root, a.chapter, course=a.course, insecure=a.insecure, seed=a.seed)


if __name__ == "__main__":
    sys.exit(main())
