"""What a hang may cost: time limits that follow what the reference needs, and budgets.

Three bounds keep a student who hangs cheap, and none touches a correct student:

- **per check**: an ordinary (every kind but training) check's wall and CPU limit is
  ``min(declared, max(FLOOR_S, factor * reference + SLACK_S))``, where ``reference`` is the
  check's duration when the batch graded the reference once, before the students (measured once
  per batch and stored with the seed in the class record, so that a rerun with the same seed
  grades with the same limits);
- **per exercise**: once the checks of one exercise have lost ``EXERCISE_HANG_S`` to timeouts,
  its remaining ordinary checks end with ``timeout`` without running (a function that hangs on
  every input costs that, not a limit per check);
- **per student**: the ordinary checks (and the imports) of one submission share a budget of
  ``max(BUDGET_FLOOR_S, BUDGET_FACTOR * total reference time)``; once spent, the rest end with
  ``timeout``.

Training exercises are outside all three: their CPU limit is fixed in ``chapter.toml``
(``[limits.training_cpu_s]``) and stated in their stub.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Check, SubmissionResult

FLOOR_S = 5.0  # spawning a sandbox and importing a file again after a kill must fit, on a busy machine too
SLACK_S = 1.0
FACTOR = {"correctness": 10.0, "speed": 25.0}  # a slow student's speed check still gets its ratio
EXERCISE_HANG_S = 15.0
BUDGET_FLOOR_S = 120.0
BUDGET_FACTOR = 4.0


def ordinary(check) -> bool:
    """Every check but training (correctness, speed, side properties...)."""
    return check.kind != "training"


def check_id(check) -> str:
    """A check's name in the record (public and hidden checks may share a function name)."""
    return f"{check.visibility}:{check.exercise}:{check.name}"


@dataclass(frozen=True)
class TimeLimits:
    per_check: dict = field(default_factory=dict)  # check_id -> wall = CPU seconds
    budget_s: float | None = None  # the per-student budget of the ordinary checks
    exercise_hang_s: float = EXERCISE_HANG_S
    reference_s: float = 0.0  # what the reference needed for the ordinary checks, in all

    def for_check(self, check: Check) -> tuple[float, float]:
        """(wall, CPU) seconds for ``check``: derived for ordinary checks, fixed for training."""
        if not ordinary(check):
            return check.timeout, check.cpu_limit or check.timeout
        derived = self.per_check.get(check_id(check))
        if derived is None:
            return check.timeout, check.cpu_limit or check.timeout
        return derived, min(derived, check.cpu_limit or derived)

    def to_json(self) -> dict:
        return {"per_check": dict(self.per_check), "budget_s": self.budget_s,
                "exercise_hang_s": self.exercise_hang_s, "reference_s": self.reference_s}

    @classmethod
    def from_json(cls, d: dict) -> TimeLimits:
        return cls(per_check={str(k): float(v) for k, v in d["per_check"].items()},
                   budget_s=None if d.get("budget_s") is None else float(d["budget_s"]),
                   exercise_hang_s=float(d.get("exercise_hang_s", EXERCISE_HANG_S)),
                   reference_s=float(d.get("reference_s", 0.0)))


def derive(checks: tuple[Check, ...], reference: SubmissionResult) -> TimeLimits:
    """Limits from the reference's own result (every check should have passed)."""
    took = {(r.visibility, r.exercise, r.name): r.duration for r in reference.results}
    per, total = {}, 0.0
    for c in checks:
        if not ordinary(c):
            continue
        ref = took.get((c.visibility, c.exercise, c.name))
        if ref is None:
            continue
        total += ref
        per[check_id(c)] = round(min(c.timeout, max(FLOOR_S, FACTOR.get(c.kind, 10.0) * ref + SLACK_S)), 2)
    return TimeLimits(per_check=per, budget_s=round(max(BUDGET_FLOOR_S, BUDGET_FACTOR * total), 1),
                      reference_s=round(total, 3))


class Spent:
    """What one submission has spent so far: per exercise on timeouts, in all on ordinary checks."""

    def __init__(self, limits: TimeLimits | None):
        self.limits = limits
        self.total = 0.0
        self.hung: dict[str, float] = {}

    def add(self, check_or_none, seconds: float, timed_out: bool) -> None:
        self.total += seconds
        if timed_out and check_or_none is not None:
            self.hung[check_or_none.exercise] = self.hung.get(check_or_none.exercise, 0.0) + seconds

    def refusal(self, check: Check) -> str | None:
        """Why ``check`` is not run at all (its budget is spent), or None."""
        if self.limits is None or not ordinary(check):
            return None
        if self.hung.get(check.exercise, 0.0) >= self.limits.exercise_hang_s:
            return (f"not run: the checks of {check.exercise} already lost {self.hung[check.exercise]:.0f} s "
                    f"to time limits (at most {self.limits.exercise_hang_s:g} s per exercise)")
        if self.limits.budget_s is not None and self.total >= self.limits.budget_s:
            return (f"not run: this submission's time budget for ordinary checks ({self.limits.budget_s:g} s) "
                    "is spent")
        return None

    def left(self) -> float | None:
        """Seconds left of the student's budget (a check's limit never reaches past it)."""
        if self.limits is None or self.limits.budget_s is None:
            return None
        return max(self.limits.budget_s - self.total, 0.0)
