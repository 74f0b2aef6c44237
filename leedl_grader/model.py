"""The data model, end to end: exercise -> check -> result -> report.

Every object here is a small frozen dataclass with no rendering and no I/O. The JSON result
file, the gradebook and the rich report are all derived from these objects.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable


class Outcome(str, enum.Enum):
    """How one check ended. The value is what result files carry."""

    PASSED = "passed"
    PARTIAL = "partial"
    FAILED = "failed"  # ran, wrong answer
    ERROR = "error"  # the student's code raised, or a file did not import
    TIMEOUT = "timeout"  # wall or CPU time limit
    MEMORY = "memory"  # memory limit
    FORBIDDEN = "forbidden"  # a routine the exercise must not call
    MISSING = "missing"  # file, name or implementation absent (a stub)
    CRASHED = "crashed"  # the student's process died (exit, signal, broken channel, malformed reply)
    FAULT = "fault"  # the grader itself failed (a broken check, a judge error): not the student's doing

    @property
    def gradescope_status(self) -> str:
        return "passed" if self is Outcome.PASSED else "failed"


@dataclass(frozen=True)
class Exercise:
    """One graded unit of a chapter, named ``FILE.NAME`` as in CURRICULUM.md."""

    name: str
    forbidden: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return self.name.split(".", 1)[0] + ".py"


@dataclass(frozen=True)
class Check:
    """One test of one exercise. ``fn(ctx)`` is pure: its only effects go through ``ctx``.

    ``fn`` returns None (passed) or a :class:`leedl_grader.authoring.checks.Partial`, or raises
    :class:`leedl_grader.authoring.checks.CheckFailed`.
    """

    name: str
    exercise: str
    points: float
    fn: Callable[[Any], Any] = field(compare=False, repr=False)
    visibility: str = "hidden"  # "visible" for public checks, "hidden" for the grader's own
    timeout: float = 20.0  # wall seconds for everything the check asks of the student's process
    cpu_limit: float | None = None  # CPU seconds of the student's process; default = timeout
    kind: str = "correctness"  # "correctness" | "speed" | "training" | "side" (scores only with the work)


@dataclass(frozen=True)
class CheckResult:
    name: str
    exercise: str
    outcome: Outcome
    score: float
    max_score: float
    message: str
    visibility: str = "hidden"
    duration: float = 0.0
    kind: str = "correctness"
    ratio: float | None = None  # speed checks: student time / yardstick time (median)
    detail: dict = field(default_factory=dict, compare=False)
    # What the student's code printed while the check ran (failed checks only; bounded, see
    # runner.OUTPUT_CHARS). A hidden check's may echo hidden inputs: shown to TAs only.
    output: str = ""


@dataclass(frozen=True)
class ExerciseSummary:
    name: str
    score: float
    max_score: float
    outcome: Outcome  # the worst outcome among its checks


@dataclass(frozen=True)
class SubmissionResult:
    student: str
    assignment: str
    seed: int
    sandbox: str
    leedl_version: str
    results: tuple[CheckResult, ...]
    execution_time: float = 0.0
    device: str = "cpu"
    key: str = ""  # content hash used to skip unchanged regrades
    notes: tuple[str, ...] = ()
    enforced: tuple[str, ...] = ()  # the limits the sandbox enforced, and by what ("memory 3072 MiB: cgroup v1")
    usage: dict = field(default_factory=dict, compare=False)  # what the sandbox used: memory_peak_mb, cpu_s

    @property
    def faults(self) -> tuple[CheckResult, ...]:
        """Checks the grader itself failed on: the TA's to look at, never the student's doing."""
        return tuple(r for r in self.results if r.outcome is Outcome.FAULT)

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.results), 6)

    @property
    def max_score(self) -> float:
        return round(sum(r.max_score for r in self.results), 6)

    @property
    def passed(self) -> bool:
        return all(r.outcome is Outcome.PASSED for r in self.results)

    def exercises(self) -> tuple[ExerciseSummary, ...]:
        order: dict[str, list[CheckResult]] = {}
        for r in self.results:
            order.setdefault(r.exercise, []).append(r)
        return tuple(
            ExerciseSummary(
                name=name,
                score=round(sum(r.score for r in rs), 6),
                max_score=round(sum(r.max_score for r in rs), 6),
                outcome=worst_outcome(r.outcome for r in rs),
            )
            for name, rs in order.items()
        )


_SEVERITY = [
    Outcome.PASSED,
    Outcome.PARTIAL,
    Outcome.FAILED,
    Outcome.MISSING,
    Outcome.ERROR,
    Outcome.TIMEOUT,
    Outcome.MEMORY,
    Outcome.CRASHED,
    Outcome.FORBIDDEN,
    Outcome.FAULT,
]


def worst_outcome(outcomes) -> Outcome:
    outcomes = list(outcomes)
    if not outcomes:
        return Outcome.MISSING
    return max(outcomes, key=_SEVERITY.index)
