"""Grade many submissions: a local process pool of judges (concurrent.futures), resumable.

Each pool process is a judge with its own zygote; a submission is graded start to finish in one
judge. Results are written by the parent as each submission finishes (atomically), so a batch
killed midway loses nothing finished, and a rerun skips every submission whose content, checks,
reference, grader version, seed and device are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import multiprocessing.util
import secrets
import sys
import tempfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Protocol

from .. import __version__
from ..course import chapters as courses
from ..course.build import stub_texts
from ..model import CheckResult, Outcome, SubmissionResult
from ..sandbox import cgroup
from . import results, stopping
from .runner import Judge, JudgeOptions
from .submissions import Submission, SubmissionError, chapter_folder, content_hash, safe_extract, tree_hash


@dataclass(frozen=True)
class Suite:
    """What a judge needs to rebuild itself in another process: only paths and names."""

    course: str  # course root (or a bundle root)
    chapter: str  # full chapter name
    kinds: tuple[str, ...]  # ("public",), ("public", "hidden")
    chapter_root: str = ""  # explicit chapter folder (a student's bundle); default: assignments/<chapter>

    def load(self):
        root = Path(self.chapter_root) if self.chapter_root else Path(self.course) / "assignments" / self.chapter
        chapter = courses.load_chapter(root)
        checks = tuple(c for k in self.kinds for c in courses.load_suite(chapter, k))
        order = {e.name: i for i, e in enumerate(chapter.exercises)}
        checks = tuple(sorted(checks, key=lambda c: (order[c.exercise], c.visibility != "visible")))
        reference = courses.load_reference(Path(self.course), chapter) if "hidden" in self.kinds else None
        data = courses.public_data(chapter)
        return chapter, checks, reference, data

    def stubs(self, chapter) -> dict[str, bytes]:
        """The released stub of each file, as bytes (none in a student's bundle: no reference)."""
        return {name: text.encode("utf-8") for name, text in stub_texts(Path(self.course), chapter).items()}

    def fingerprint(self) -> str:
        course = Path(self.course)
        root = Path(self.chapter_root) if self.chapter_root else course / "assignments" / self.chapter
        parts = [root / k for k in self.kinds] + [root / "chapter.toml"]
        if "hidden" in self.kinds:  # the reference package (not its zoo or example class)
            parts += sorted((course / "solutions" / self.chapter).glob("*.py"))
        return tree_hash(parts)


def new_seed() -> int:
    return secrets.randbits(31)


def blank_result(chapter, checks, student: str, seed: int, options: JudgeOptions, outcome: Outcome,
                 message: str, key: str = "") -> SubmissionResult:
    """A result for a submission that could not be graded at all: every check scores 0."""
    rs = tuple(CheckResult(name=c.name, exercise=c.exercise, outcome=outcome, score=0.0, max_score=c.points,
                           message=message, visibility=c.visibility, kind=c.kind) for c in checks)
    return SubmissionResult(student=student, assignment=chapter.name, seed=seed, sandbox=options.mode,
                            leedl_version=__version__, results=rs, device=options.device, notes=(message,), key=key)


# --- the judge in each pool process ------------------------------------------------------------
_JUDGE: Judge | None = None


def _import_in_background(name: str) -> None:
    """Import ``name`` on a thread while the judge waits on its sandboxes. torch.optim's built-in
    optimizers import torch's compiler stack (torch._dynamo, seconds of imports) on their first
    step: a check that steps one as its yardstick would otherwise pay for it on the clock."""
    import importlib
    import threading

    if name not in sys.modules:
        with stopping.threads_without_signals():
            threading.Thread(target=importlib.import_module, args=(name,), daemon=True,
                             name=f"import {name}").start()


def prefork(suite: Suite, options: JudgeOptions) -> None:
    """Make this process the zygote of the judge about to load ``suite`` (torch imported once for
    both), before a check or the reference is loaded; ``leedl check`` only. A class's grade keeps
    fresh interpreters: a fork carries the caller's frames (the batch's seed among them)."""
    from ..sandbox import spawned, zygote_handle
    from ..sandbox.policy import PROCESS

    if not (options.mode == PROCESS and spawned.wanted()):
        zygote_handle.prefork(Path(suite.chapter_root) if suite.chapter_root
                          else Path(suite.course) / "assignments" / suite.chapter)


def _init_judge(suite: Suite, options: JudgeOptions) -> None:
    global _JUDGE
    if multiprocessing.parent_process() is not None:
        stopping.quiet_child()
    from .. import lazy_compiler

    lazy_compiler.install()  # the judge's own optimizers and tracers need no compiler stack...
    _import_in_background("torch._dynamo")  # ...but torch.optim's, which checks compare with, do
    chapter, checks, reference, data = suite.load()
    _JUDGE = Judge(chapter, checks, options, reference=reference, data=data, stubs=suite.stubs(chapter))
    _JUDGE.start()
    if multiprocessing.parent_process() is not None:
        # A pool process ends with os._exit, past atexit: close the zygote cleanly through
        # multiprocessing's own finalizers, which do run.
        multiprocessing.util.Finalize(_JUDGE, _JUDGE.close, exitpriority=10)


def grade_source(judge: Judge, src: Path, student: str, seed: int, key: str, only: tuple[str, ...] = ()) -> dict:
    """Grade one submission (a folder, or a zip unpacked here) in ``judge``; its lossless record.
    ``only``: grade just these exercises (validation of a zoo variant)."""
    with tempfile.TemporaryDirectory(prefix="leedl-sub-") as tmp:
        try:
            src = Path(src)
            if src.is_file():
                safe_extract(src, Path(tmp))
                src = Path(tmp)
            folder = chapter_folder(src, judge.chapter.name, judge.chapter.files)
        except SubmissionError as exc:
            r = blank_result(judge.chapter, judge.checks, student, seed, judge.options, Outcome.MISSING, str(exc),
                             key=key)  # the same broken zip is as broken next time
            return results.to_record(r)
        r = judge.grade(folder, student, seed, key=key, only=only)
    return results.to_record(r)


def _grade_one(sub: Submission, seed: int, key: str) -> dict:
    return grade_source(_JUDGE, sub.path, sub.student, seed, key, sub.only)


class Backend(Protocol):
    """Where a batch's judges run, other than this machine's process pool (``cluster.py``).

    ``grade`` calls ``finish(record)`` once with each graded submission's lossless record (as
    :func:`grade_source` returns it) and ``fault(sub, exc)`` once for each that the grader could
    not grade; the caller writes both, exactly as for the local pool."""

    def grade(self, suite: Suite, options: JudgeOptions, seed: int, todo: list[tuple[Submission, str]],
              finish: Callable[[dict], None], fault: Callable[[Submission, BaseException], None]) -> None: ...


def submission_key(sub: Submission, chapter, fingerprint: str, seed: int, options: JudgeOptions) -> str:
    h = hashlib.sha256()
    if sub.path.is_file():
        h.update(sub.path.read_bytes())
    else:
        h.update(content_hash(chapter_folder(sub.path, chapter.name, chapter.files), chapter.files).encode())
    h.update(f"|{fingerprint}|{__version__}|{seed}|{options.device}|{options.mode}".encode())
    if options.time_limits is not None:  # the limits decide timeouts: other limits, another grade
        h.update(json.dumps(options.time_limits.to_json(), sort_keys=True).encode())
    return h.hexdigest()


def grade_many(suite: Suite, subs: list[Submission], out: Path | None, options: JudgeOptions, *, seed: int,
               jobs: int = 1, force: bool = False,
               on_result: Callable[[SubmissionResult, bool], None] | None = None,
               backend: Backend | None = None, exercises: tuple[str, ...] = (),
               owner: results.Owner | None = None) -> list[SubmissionResult]:
    """Grade ``subs``; write ``out/<student>.json`` as each finishes. ``on_result(result, skipped)``.

    ``backend``: grade elsewhere (a Dask cluster) instead of ``jobs`` local judges.
    ``exercises``: regrade only these exercises (``leedl grade -k``): each student's other
    exercises keep the results of ``out`` (a student with no result there, or one for another
    seed, is graded in full). ``owner``: who gets the files written (:class:`results.Owner`)."""
    chapter = courses.load_chapter(Path(suite.chapter_root) if suite.chapter_root
                                   else Path(suite.course) / "assignments" / suite.chapter)
    fingerprint = suite.fingerprint()
    done: list[SubmissionResult] = []
    todo: list[tuple[Submission, str]] = []
    earlier: dict[str, SubmissionResult] = {}
    for sub in subs:
        key = submission_key(sub, chapter, fingerprint, seed, options)
        old = results.read_result(Path(out) / f"{sub.student}.json") if out is not None else None
        if old is not None and not force and not exercises and old.key == key:
            done.append(old)
            if on_result:
                on_result(old, True)
            continue
        if exercises and old is not None and old.seed == seed:
            earlier[sub.student] = old
            sub = replace(sub, only=exercises)
        todo.append((sub, key))

    def finish(data: dict) -> None:
        r = results.from_record(data)
        if r.student in earlier:
            r = merged(earlier[r.student], r, exercises, chapter)
        if out is not None:
            path = results.write_result(Path(out), r)
            if owner is not None:
                owner.apply(path)
        done.append(r)
        if on_result:
            on_result(r, False)

    def fault(sub: Submission, exc: BaseException) -> None:
        loaded = suite.load()
        r = blank_result(loaded[0], loaded[1], sub.student, seed, options, Outcome.FAULT,
                         f"the grader failed on this submission ({type(exc).__name__}: {exc}); "
                         "not the student's doing: regrade it")
        finish(results.to_record(r))

    cgroup.sweep()  # the groups of graders that were killed: gone before this batch starts
    try:
        if backend is not None:
            if todo:
                backend.grade(suite, options, seed, todo, finish, fault)
        else:
            _run(suite, todo, options, seed, jobs, finish, fault)
    finally:
        cgroup.sweep()  # after a crash or a signal too: nothing of this batch is left
    return done


def merged(old: SubmissionResult, new: SubmissionResult, exercises: tuple[str, ...], chapter) -> SubmissionResult:
    """``old`` with the checks of ``exercises`` replaced by those of ``new`` (a ``-k`` regrade),
    in the chapter's order; what the submission is and was graded with (key, notes) is ``new``'s."""
    order = {e.name: i for i, e in enumerate(chapter.exercises)}
    kept = [c for c in old.results if c.exercise not in exercises]
    fresh = [c for c in new.results if c.exercise in exercises]
    checks = sorted(kept + fresh, key=lambda c: order.get(c.exercise, len(order)))  # stable: check order kept
    return replace(new, results=tuple(checks), execution_time=new.execution_time,
                   notes=(*new.notes, f"regraded only {', '.join(exercises)}; the other exercises keep "
                                      f"their earlier result"))


def _run(suite: Suite, todo: list, options: JudgeOptions, seed: int, jobs: int, finish, fault) -> None:
    if jobs <= 1:
        _init_judge(suite, options)
        try:
            for sub, key in todo:
                try:
                    data = _grade_one(sub, seed, key)
                except Exception as exc:  # a judge failure costs this submission only, uncached
                    fault(sub, exc)
                    continue
                finish(data)
        finally:
            _JUDGE.close()
        return

    ctx = _judge_context()
    pending = list(todo)
    while pending:
        with ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=ctx, initializer=_init_judge,
                                 initargs=(suite, options)) as pool:
            try:
                futures = {pool.submit(_grade_one, sub, seed, key): (sub, key) for sub, key in pending}
                pending = []
                broken = False
                while futures:
                    # In steps: the pool's own thread may be the one a signal reaches (see stopping).
                    finished, _ = wait(futures, timeout=0.5, return_when=FIRST_COMPLETED)
                    for f in finished:
                        sub, key = futures.pop(f)
                        try:
                            finish(f.result())
                        except BrokenProcessPool:
                            pending.append((sub, key))
                            broken = True
                        except Exception as exc:  # a judge failure costs this submission only, uncached
                            fault(sub, exc)
            except BaseException:  # Ctrl-C, SIGTERM, a failure here: stop the judges now, not after their work
                _abort(pool)
                raise
            if broken and len(pending) == len(todo):
                raise RuntimeError("every judge process died; see the messages above")
            todo = pending


def _judge_context():
    """Where the pool's judges come from: forked from a fork server, a clean interpreter (started
    fresh, not a fork of this process: no threads, no state of the batch) that has imported torch
    and the engine once, so that each judge does not pay for them again (--jobs 2 would otherwise
    spend more CPU than --jobs 1 before grading anyone). Spawned where there is no fork server."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["torch", "numpy", __name__])
        return ctx
    return multiprocessing.get_context("spawn")


def _abort(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's judges. Their zygotes see the control socket close and exit, taking the
    monitors and so every sandbox along; the sweep that follows removes their cgroups."""
    procs = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        try:
            p.kill()
        except (OSError, ValueError):
            pass
    for p in procs:
        p.join(timeout=10)
