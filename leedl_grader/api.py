"""The library API. Each CLI command calls exactly one function here.

Longer than most modules (~390 lines) on purpose: it is the whole surface the CLI stands on, one
section per command, and each function only resolves its arguments and hands the work to the
package that does it (``judge``, ``course``, ``exports``).
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import json
import os
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .course import chapters as courses
from .course.chapters import Chapter, CourseError
from .exports import EXPORT_FORMATS
from .judge import stopping
from .judge.submissions import Submission, SubmissionError, discover, not_a_class
from .model import SubmissionResult
from .sandbox import modes as sandbox
from .sandbox import policy

# The grading machinery (batch, runner, results...) imports torch: each function below imports
# what it uses when it runs, so that `leedl list` and `leedl --help` never pay for torch.

class LeedlError(Exception):
    """A user error, shown as one clear line."""


class Stopped(LeedlError):
    """A grade run stopped by SIGINT/SIGTERM, cleanly: what finished is written, a rerun resumes."""

    def __init__(self, graded: int, total: int, exit_code: int):
        super().__init__(f"{graded} of {total} graded — rerun to resume")
        self.graded, self.total, self.exit_code = graded, total, exit_code


def sandbox_mode(*, require_strict: bool = False, insecure: bool = False) -> str:
    from .sandbox import spawned

    ok, why = (False, "workers are spawned here (no fork)") if spawned.wanted() else sandbox.strict_available()
    if ok:
        return policy.STRICT
    if ok is False and sys.platform.startswith("linux") and os.geteuid() == 0 and not spawned.wanted():
        return policy.UID  # root without namespaces: a dedicated uid per sandbox (leedl_grader.sandbox.uid_mode)
    if require_strict and not insecure:
        raise LeedlError(
            f"strict isolation is not available here ({why}); grading a class without it lets a "
            "hostile submission forge grades. Run as root on Linux, or pass --insecure to accept the risk."
        )
    return policy.PROCESS


def writable_folder(path: Path, what: str) -> Path:
    """``path`` made (with its parents) and proved writable by writing a file there; else a
    LeedlError that says why (under a file, read-only, no permission, a kernel file system)."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".leedl-probe-"):
            pass
    except OSError as exc:
        parent = next((p for p in [path, *path.parents] if p.exists()), None)
        why = exc.strerror or str(exc)
        if parent is not None and not parent.is_dir():
            why = f"{parent} is a file"
        raise LeedlError(f"{what} {path}: cannot write there ({why})") from None
    return path


def course_root(course: Path | None = None) -> Path:
    root = Path(course).resolve() if course else courses.find_course()
    if root is None:
        raise LeedlError("no course found: run inside a leedl course (a folder with assignments/) or pass --course")
    return root


def chapter(name: str, course: Path | None = None) -> tuple[Path, Chapter]:
    root = course_root(course)
    try:
        return root, courses.resolve_chapter(root, name)
    except CourseError as exc:
        raise LeedlError(str(exc)) from None


# --- list ---------------------------------------------------------------------------------------
def list_chapters(course: Path | None = None) -> list[tuple[str, str, list[tuple[str, float, float]]]]:
    root = course_root(course)
    rows = []
    for ch in courses.chapters(root):
        per = [courses.suite_points(ch, kind) for kind in ("public", "hidden")]  # torch only on a cache miss
        rows.append((ch.name, ch.title, [(e.name, per[0].get(e.name, 0.0), per[1].get(e.name, 0.0))
                                         for e in ch.exercises]))
    return rows


# --- check --------------------------------------------------------------------------------------
def _bundle_chapter(name: str, where: Path) -> Path | None:
    """A released bundle: ``where/<chapter>/chapter.toml`` (or ``where`` itself). None where
    ``where`` holds no chapter at all; a LeedlError naming those it holds where ``name`` is none."""
    found = [d for d in [where, *sorted(p for p in where.iterdir() if p.is_dir())] if (d / "chapter.toml").is_file()]
    if not found:
        return None
    known = [courses.Chapter(d.name, "", d, (), {}) for d in found]
    try:
        return courses.match_chapter(name, known, str(where)).root
    except CourseError as exc:
        raise LeedlError(str(exc)) from None


def check(chapter_name: str, path: Path | None = None, *, hidden: bool = False, seed: int | None = None,
          device: str = "cpu", course: Path | None = None, json_out: Path | None = None,
          plots: Path | None = None, select: tuple[str, ...] = ()) -> SubmissionResult:
    """A student's self-check of one working copy (public checks; ``hidden`` where present).

    ``plots``: a folder for the pictures checks offer (PNG; needs the ``plots`` extra).
    ``select``: ``-k`` patterns (files or exercises, :func:`course.select_exercises`); default all."""
    from .judge import batch, results
    from .judge.runner import JudgeOptions

    cwd = Path.cwd()
    root = Path(course).resolve() if course else courses.find_course()
    if root is not None and (root / "assignments").is_dir():
        root, ch = chapter(chapter_name, root)
        suite_root = ""
        default_path = cwd / ch.name if (cwd / ch.name).is_dir() else ch.root
    else:
        bundle = _bundle_chapter(chapter_name, cwd if path is None else Path(path).resolve().parent)
        if bundle is None:
            raise LeedlError(f"no chapter {chapter_name!r} here: {cwd} holds no chapter.toml (run inside the "
                             "released bundle, or the course, or give the folder: leedl check CHAPTER PATH)")
        ch = courses.load_chapter(bundle)
        root, suite_root, default_path = bundle.parent, str(bundle), bundle
    kinds = ("public",)
    if hidden:
        if not (ch.root / "hidden").is_dir() or not (root / "solutions" / ch.name).is_dir():
            raise LeedlError("--hidden needs the course's hidden checks and reference (instructors only)")
        kinds = ("public", "hidden")
    target = Path(path).resolve() if path else default_path
    if not target.is_dir():
        raise LeedlError(f"{target} is not a folder")
    suite = batch.Suite(course=str(root), chapter=ch.name, kinds=kinds, chapter_root=suite_root)
    options = JudgeOptions(mode=sandbox_mode(), device=device,
                           plots_dir=str(Path(plots).resolve()) if plots is not None else None)
    try:
        only = courses.select_exercises(ch, select) if select else ()
    except CourseError as exc:
        raise LeedlError(str(exc)) from None
    sub = Submission(target.name if target.name != ch.name else "self-check", target, only=only)
    batch.prefork(suite, options)  # before the seed is drawn and anything of the course is loaded
    seed = batch.new_seed() if seed is None else seed
    (result,) = batch.grade_many(suite, [sub], None, options, seed=seed, jobs=1, force=True)
    if json_out is not None:
        results.atomic_write(Path(json_out), json.dumps(results.to_json(result), indent=2, ensure_ascii=False) + "\n")
    return result


# --- grade --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchOutcome:
    chapter: Chapter
    results: tuple[SubmissionResult, ...]
    skipped: int
    seed: int
    mode: str
    gradebook: Path
    enforced: tuple[str, ...] = ()  # what each sandbox's limits are and what enforces them
    per_sandbox_cap: bool = True  # False: memory is capped per process only (no cgroup here)


def grade(chapter_name: str, submissions: Path, out: Path, *, jobs: int = 1, device: str = "cpu",
          seed: int | None = None, force: bool = False, insecure: bool = False, course: Path | None = None,
          plots: Path | None = None, scheduler: str | None = None, task_timeout: float | None = None,
          only: tuple[str, ...] = (), select: tuple[str, ...] = (), group: str | None = None,
          on_start: Callable[[int], None] | None = None,
          on_result: Callable[[SubmissionResult, bool], None] | None = None,
          on_note: Callable[[str], None] | None = None) -> BatchOutcome:
    """Grade a class. ``scheduler``: a Dask scheduler's address, or "local" for a local Dask
    cluster of ``jobs`` workers (see :mod:`leedl_grader.judge.cluster`); default: a local pool.

    ``only``: regrade just these students (their names or entries), whatever their state; the
    others keep their results. ``select``: ``-k`` patterns: regrade just the exercises they
    select, the other exercises keep their results. ``group``: a group that may read the results
    (they go to ``$SUDO_UID`` anyway when run under sudo).

    SIGINT or SIGTERM (once or more) stops the run cleanly (:mod:`judge.stopping`): every judge,
    zygote, sandbox and cgroup is gone, what finished stays written, and :class:`Stopped` is raised."""
    counted = {"total": 0, "graded": 0}
    with stopping.handled() as stop:
        try:
            return _grade(chapter_name, Path(submissions), Path(out), jobs=jobs, device=device, seed=seed,
                          force=force, insecure=insecure, course=course, plots=plots, scheduler=scheduler,
                          task_timeout=task_timeout, only=tuple(only), select=tuple(select), group=group,
                          on_start=on_start, on_result=on_result, on_note=on_note, counted=counted)
        except KeyboardInterrupt:
            pass
    raise Stopped(counted["graded"], counted["total"], stop.exit_code)


def _chosen(subs: list[Submission], names: tuple[str, ...]) -> list[Submission]:
    """The submissions ``--only`` names (a student's name, or the entry as handed in: ``bob.zip``)."""
    chosen = []
    for name in names:
        hit = [s for s in subs if name in (s.student, s.path.name, s.path.stem)]
        if not hit:
            known = [s.student for s in subs]
            near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]}?" if near else ""
            raise LeedlError(f"--only {name}: no such student in the class{hint} "
                             f"({len(known)} students: {', '.join(known[:8])}{', …' if len(known) > 8 else ''})")
        chosen += [s for s in hit if s not in chosen]
    return chosen


def _grade(chapter_name: str, submissions: Path, out: Path, *, jobs, device, seed, force, insecure, course, plots,
           scheduler, task_timeout, only, select, group, on_start, on_result, on_note, counted) -> BatchOutcome:
    from .judge import batch, batch_record, results
    from .judge import cluster as distributed
    from .judge.runner import JudgeOptions

    root, ch = chapter(chapter_name, course)
    mode = sandbox_mode(require_strict=True, insecure=insecure)
    try:
        if scheduler:
            distributed.check(scheduler)
    except distributed.DistributedError as exc:
        raise LeedlError(str(exc)) from None
    if plots is not None and scheduler not in (None, "local"):
        raise LeedlError("--plots needs the pictures' folder on the workers' machines: use it without "
                         "--scheduler, or with --scheduler local")
    try:
        owner = results.Owner.for_run(group)
        exercises = courses.select_exercises(ch, select) if select else ()
    except (ValueError, CourseError) as exc:
        raise LeedlError(str(exc)) from None
    try:
        subs = discover(submissions)
    except SubmissionError as exc:
        raise LeedlError(str(exc)) from None
    why = not_a_class(submissions, ch.name, ch.files, subs)
    if why is not None:
        raise LeedlError(why)
    todo = _chosen(subs, only) if only else subs
    out = writable_folder(out, "--out")
    if plots is not None:
        plots = writable_folder(Path(plots), "--plots")
    seed = batch_record.batch_seed(out, seed)
    counted["total"] = len(todo)
    if on_start:
        on_start(len(todo))
    suite = batch.Suite(course=str(root), chapter=ch.name, kinds=("public", "hidden"))
    skipped = [0]

    def note(r, was_skipped):
        skipped[0] += was_skipped
        counted["graded"] += 1
        if on_result:
            on_result(r, was_skipped)

    # --plots: the pictures checks offer, one folder per student (leedl export html --plots embeds them)
    where = str(Path(plots).resolve() / "{student}") if plots is not None else None
    options = JudgeOptions(mode=mode, device=device)

    def measure():  # the reference, graded once as a student would be, with the declared limits
        ref = Submission("reference", root / "solutions" / ch.name)
        (r,) = batch.grade_many(suite, [ref], None, options, seed=seed, jobs=1, force=True)
        return r

    limits = batch_record.time_limits(out, suite, options, seed, measure)
    options = replace(options, time_limits=limits, plots_dir=where)
    connect = functools.partial(distributed.connect, scheduler, workers=jobs, course=root,
                                task_timeout=task_timeout, on_note=on_note) if scheduler else contextlib.nullcontext
    try:
        with connect() as backend:
            graded = batch.grade_many(suite, todo, out, options, seed=seed, jobs=jobs, force=force or bool(only),
                                      on_result=note, backend=backend, exercises=exercises, owner=owner)
    except distributed.DistributedError as exc:
        raise LeedlError(str(exc)) from None
    finally:
        if scheduler == "local":  # the local cluster's workers are gone now: so are their judges' cgroups
            from .sandbox import cgroup as groups

            groups.sweep()
    names = {s.student for s in todo}
    graded = [r for r in graded if r.student in names]
    # --only: the rest of the class keeps the results it has (the gradebook lists everyone graded)
    others = [results.read_result(out / f"{s.student}.json") for s in subs if s.student not in names]
    everyone = graded + [r for r in others if r is not None]
    book = batch_record.write_gradebook(out, [e.name for e in ch.exercises], everyone)
    owner.apply(out, book, batch_record.class_record(out).parent, batch_record.class_record(out))
    if plots is not None:
        owner.apply_tree(plots)
    from .sandbox import cgroup

    backend, why = cgroup.backend()
    limits = replace(policy.Limits(), **ch.limits)
    return BatchOutcome(ch, tuple(sorted(graded, key=lambda r: r.student)), skipped[0], seed, mode, book,
                        policy.enforced(limits, mode, backend.version if backend else "", why), backend is not None)


# --- instructors --------------------------------------------------------------------------------
def build(chapter_name: str | None = None, course: Path | None = None) -> list[Path]:
    from .course import build as builder

    root = course_root(course)
    chs = [chapter(chapter_name, root)[1]] if chapter_name else courses.chapters(root)
    written = []
    for ch in chs:
        written += builder.build(root, ch)
    return written


def release(chapter_name: str, out: Path, course: Path | None = None) -> Path:
    from .course import release as releaser

    root, ch = chapter(chapter_name, course)
    try:
        return releaser.release(root, ch, Path(out))
    except releaser.ReleaseError as exc:
        raise LeedlError(str(exc)) from None


def validate(chapter_name: str | None = None, *, seed: int | None = None, jobs: int = 1, device: str = "cpu",
             course: Path | None = None, on_result=None) -> list:
    """A :class:`validate.ValidationReport` per chapter (default: every chapter)."""
    from .course import validate as validator
    from .judge import batch

    root = course_root(course)
    chs = [chapter(chapter_name, root)[1]] if chapter_name else courses.chapters(root)
    seed = batch.new_seed() if seed is None else seed
    mode = sandbox_mode()
    return [validator.validate(root, ch, seed=seed, jobs=jobs, mode=mode, device=device, on_result=on_result)
            for ch in chs]


# --- exports ------------------------------------------------------------------------------------
def export(fmt: str, results_dir: Path, out: Path, *, roster: Path | None = None, title: str | None = None,
           assignment_id: str = "", per_exercise: bool = False, plots: Path | None = None):
    """Write a results folder (``leedl grade --out``) as ``fmt``; returns an :class:`lms.ExportReport`."""
    from .exports import html, junit, lms
    from .exports.folder import ExportError, load_results

    try:
        graded = load_results(Path(results_dir))
        title = title or graded[0].assignment
        book = lms.load_roster(Path(roster)) if roster is not None else None
        if fmt in ("canvas", "moodle") and book is None:
            raise ExportError(f"--format {fmt} needs --roster: a CSV mapping each student folder to the LMS identity")
        if fmt == "canvas":
            return lms.canvas(graded, book, Path(out), title=title, assignment_id=assignment_id,
                              per_exercise=per_exercise)
        if fmt == "moodle":
            return lms.moodle(graded, book, Path(out), title=title, per_exercise=per_exercise)
        if fmt == "csv":
            return lms.plain(graded, book, Path(out))
        if fmt == "junit":
            return lms.ExportReport(junit.write(graded, Path(out), name=f"leedl {title}"), len(graded))
        if fmt == "html":
            html.write(graded, Path(out), plots_dir=Path(plots) if plots is not None else None)
            return lms.ExportReport(Path(out), len(graded))
    except ExportError as exc:
        raise LeedlError(str(exc)) from None
    raise LeedlError(f"unknown export format {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")


def nbgrader_source(chapter_name: str, course_dir: Path, assignment: str | None = None,
                    course: Path | None = None) -> tuple[Path, Path | None]:
    """Write the chapter's nbgrader source notebook (and bundle) into ``course_dir``; also
    ``course_dir/nbgrader_config.py`` when it does not exist. Returns (notebook, config written or None)."""
    from .course import release as releaser
    from .course.markers import MarkerError
    from .exports import nbgrader as nbg

    root, ch = chapter(chapter_name, course)
    try:
        nb = nbg.write_source(root, ch, Path(course_dir), assignment or ch.short)
    except (releaser.ReleaseError, MarkerError) as exc:
        raise LeedlError(str(exc)) from None
    config = Path(course_dir) / "nbgrader_config.py"
    if config.exists():
        return nb, None
    config.write_text("c = get_config()  # noqa: F821\n" + nbg.config_text(root), encoding="utf-8")
    return nb, config


def gradescope(chapter_name: str, out: Path, course: Path | None = None, *, insecure: bool = False) -> Path:
    """Gradescope's autograder zip for the chapter (setup.sh, run_autograder, leedl, checks, reference)."""
    from .exports import gradescope as gs

    root, ch = chapter(chapter_name, course)
    return gs.build_zip(root, ch, Path(out), insecure=insecure)
