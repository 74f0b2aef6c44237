"""The authoring API for public and hidden checks.

A check module (``assignments/<chapter>/public/test_*.py`` or ``.../hidden/test_*.py``) defines
functions decorated with :func:`check`. Each receives a context ``ctx`` and talks to the
student's code only through it:

    @check("optimizers.Adam", points=2)
    def adam_two_groups_float32(ctx):
        spec = ...                                   # plain data: tensors, numbers, strings
        got = ctx.run("optimizer_trajectory", target="optimizers.Adam", spec=spec)
        want = drivers.optimizer_trajectory(torch.optim.Adam, spec)   # computed in the judge
        assert_close(got, want, rtol=..., atol=..., what="parameters after each step")

A check passes by returning None, earns part of its points with ``return Partial(f, msg)``, and
fails by raising :class:`CheckFailed` (``assert_close`` and ``expect`` raise it with a message
that a student can act on). Whatever the student's process does (raise, hang, crash, exit) is
turned into an outcome by the engine; the check never sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from ..model import Check


class CheckFailed(AssertionError):
    """The student's answer is wrong; the message says how (it is shown to the student)."""


@dataclass(frozen=True)
class Partial:
    """Return from a check to award ``fraction`` of its points."""

    fraction: float
    message: str


class StudentError(Exception):
    """The student's code raised. Raised by ``ctx.call``/``ctx.run``; the engine scores it."""

    def __init__(self, kind: str, message: str, *, outcome: str = "error"):
        super().__init__(message)
        self.kind = kind  # exception type name, e.g. "NotImplementedError", "SyntaxError"
        self.message = message
        self.outcome = outcome  # "error", "missing", "memory", "forbidden"


def check(
    exercise: str,
    *,
    points: float = 1.0,
    timeout: float = 20.0,
    cpu_limit: float | None = None,
    kind: str = "correctness",
) -> Callable[[Callable], Check]:
    """Declare a check of ``exercise`` (``FILE.NAME`` from CURRICULUM.md)."""

    def wrap(fn: Callable) -> Check:
        doc = (fn.__doc__ or "").strip().splitlines()
        return Check(
            name=fn.__name__,
            exercise=exercise,
            points=float(points),
            fn=fn,
            timeout=float(timeout),
            cpu_limit=cpu_limit,
            kind=kind,
            description=doc[0] if doc else "",
        )

    return wrap


def expect(condition: Any, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


class Context:
    """What a check may use. The engine passes an implementation; this documents the interface.

    Attributes:
        seed: the grading run's seed (recorded in results; ``--seed`` reproduces it).
        device: ``torch.device`` the checks run on (``--device``).
        reference: the chapter's reference package (hidden checks in the judge), else None.
        data: the public data shipped beside public checks (``public/expected.json``), or {}.
    """

    seed: int
    device: torch.device
    reference: Any
    data: dict

    def generator(self, stream: str = "") -> torch.Generator:
        """A CPU generator seeded from (run seed, check name, stream)."""
        raise NotImplementedError

    def call(self, target: str, *args, **kwargs):
        """Call the student's ``FILE.NAME`` with plain data; returns plain data."""
        raise NotImplementedError

    def run(self, driver: str, **spec):
        """Run a driver from :mod:`leedl_grader.drivers` on the student's code."""
        raise NotImplementedError

    def time_ratio(self, target: str, args: tuple, yardstick: Callable, *, repeats: int = 7,
                   build: dict | None = None, clock: str = "wall") -> float:
        """Median of (student time / yardstick time) over interleaved timed repeats; with
        ``build``, ``target`` is a module class built from that spec and its forward is timed;
        ``clock="cpu"`` compares CPU time (robust on a busy machine; CPU devices only)."""
        raise NotImplementedError
