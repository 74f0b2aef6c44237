"""Grade trusted code against a chapter's checks in this process: the judge of content tests.

It is the very :class:`~leedl_grader.judge.runner.Judge` and check context that ``leedl grade`` uses,
with the same seeds, scoring, time budgets, static scan and side-property rule; only the
transport differs. Each request a check makes is answered here by the student's-side code
(:func:`leedl_grader.sandbox.student.reply`, forbidden-op tracing included), with the request and the
reply passed through the wire both ways, instead of by a sandboxed process. So an in-process
test sees exactly the inputs and verdicts of a graded run, at a fraction of its cost.

For trusted code only (the reference, the stubs, a zoo variant): nothing here isolates or
interrupts anything, and the code under test shares this process's modules and torch state.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import types
from pathlib import Path

from .. import codec, drivers
from ..course.chapters import Chapter
from ..model import SubmissionResult
from ..sandbox import student
from ..sandbox.policy import PROCESS
from .batch import Suite
from .runner import Judge, JudgeOptions


class LocalWorker:
    """A :class:`~leedl_grader.sandbox.processes.Worker` look-alike that answers in this process."""

    group = None  # no cgroup: CPU time is this thread's
    exit_status = None
    exit_cpu = 0.0
    uid = -1

    def __init__(self, submission: student.Submission, log: Path):
        self.submission = submission
        self.log = log  # never written: what the code prints goes to this process's output

    def request(self, message, deadline=None, cpu_deadline=None):
        """The reply to one request, both ways through the wire (limits are not enforced)."""
        return codec.decode(student.reply(self.submission, codec.decode(codec.encode(message))))

    def cpu(self) -> float:
        return time.thread_time()

    cpu_precise = cpu

    def log_tail(self, n: int = 4000) -> str:
        return ""

    def close(self) -> None:
        pass

    kill = wait = close


def _fresh_package(name: str, path: Path) -> None:
    """Import the folder ``path`` as the package ``name`` anew, as a fresh worker would."""
    for m in [m for m in list(sys.modules) if m == name or m.startswith(name + ".")]:
        del sys.modules[m]
    init = path / "__init__.py"
    if init.is_file():
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(path)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    else:
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        sys.modules[name] = module


class InProcessJudge(Judge):
    """A judge whose workers answer in this process (see the module's docstring)."""

    def grade(self, src: Path, student: str, seed: int, key: str = "", only: tuple[str, ...] = ()):
        _fresh_package(self.chapter.name, Path(src))  # the submission, under the chapter's name
        return super().grade(src, student, seed, key=key, only=only)

    def _spawn(self, stem: str) -> LocalWorker:
        src = self._spawn_args["src"]
        return LocalWorker(student.Submission(self.chapter.name, src, self.forbidden_ops()),
                           self.workdir / "in-process.log")


def grade_in_process(course: Path, chapter: Chapter, src: Path, *, seed: int,
                     kinds: tuple[str, ...] = ("public", "hidden"), only: tuple[str, ...] = (),
                     student: str = "in-process") -> SubmissionResult:
    """Grade the folder ``src`` (a package of the chapter's files) with the chapter's checks of
    ``kinds``, exactly as ``leedl grade --seed SEED`` would score it; with ``only``, just the
    checks of those exercises."""
    drivers.load_all()  # what the zygote imports before it forks (the chapter's own: Suite.load)
    suite = Suite(course=str(course), chapter=chapter.name, kinds=tuple(kinds), chapter_root=str(chapter.root))
    ch, checks, reference, data = suite.load()
    judge = InProcessJudge(ch, checks, JudgeOptions(mode=PROCESS), reference=reference, data=data)
    try:
        return judge.grade(Path(src), student, seed, only=tuple(only))
    finally:
        judge.close()
