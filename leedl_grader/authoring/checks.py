"""The authoring API for public and hidden checks.

A check module (``assignments/<chapter>/public/test_*.py`` or ``.../hidden/test_*.py``) defines
functions decorated with :func:`check`. Each receives a context ``ctx`` and talks to the
student's code only through it:

    @check("attention.masked_softmax", points=2)
    def masked_softmax_gradient_float64(ctx):
        args = ...                                   # plain data drawn from ctx.generator()
        got = ctx.run("grad", target="attention.masked_softmax", args=args)   # student's process
        want = run_local("grad", trusted_masked_softmax, args=args)            # computed in the judge
        assert_close(got["grads"], want["grads"], rtol=..., atol=..., what="gradient")

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
        return Check(
            name=fn.__name__,
            exercise=exercise,
            points=float(points),
            fn=fn,
            timeout=float(timeout),
            cpu_limit=cpu_limit,
            kind=kind,
        )

    return wrap


def expect(condition: Any, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


class Context:
    """What a check may use: the one context protocol. The judge's implementation
    (:class:`leedl_grader.judge.context.Context`) serves ``leedl grade``, ``leedl check``, ``leedl validate``
    and in-process content tests (:mod:`leedl_grader.judge.inprocess`) alike, with the same seeds.

    Attributes:
        seed: the grading run's seed (recorded in results; ``--seed`` reproduces it).
        device: ``torch.device`` the checks run on (``--device``).
        reference: the chapter's reference package (when hidden checks are loaded), else None.
        data: the public data shipped beside public checks (``public/expected.json``), or {}.
        ratio: a speed check's measured ratio (set by :meth:`time_ratio`; a check may set the
            ratio it scored on), shown in the result.
    """

    seed: int
    device: torch.device
    reference: Any
    data: dict
    ratio: float | None

    def generator(self, stream: str = "") -> torch.Generator:
        """A CPU generator seeded from (run seed, exercise, check name, stream)."""
        raise NotImplementedError

    def call(self, target: str, *args, **kwargs):
        """Call the student's ``FILE.NAME`` with plain data; returns plain data."""
        raise NotImplementedError

    def run(self, driver: str, target: str | None = None, **spec):
        """Run a driver (the engine's, or the chapter's ``public/drivers.py``) on the student's
        ``target`` in the student's process; returns its plain-data reply."""
        raise NotImplementedError

    def time_ratio(self, target: str, args: tuple, yardstick: Callable, *, repeats: int = 7,
                   build: dict | None = None, clock: str = "wall") -> float:
        """Median of (student time / yardstick time) over interleaved timed repeats; with
        ``build``, ``target`` is a module class built from that spec and its forward is timed;
        ``clock="cpu"`` compares CPU time (robust on a busy machine; CPU devices only)."""
        raise NotImplementedError

    def train(self, target: str, *args, snapshots: int = 0, **kwargs):
        """Call the training function ``target`` with the given data in a sandbox of its own; the
        returned model comes back as plain data (:class:`leedl_grader.authoring.trained.TrainedModel`)."""
        raise NotImplementedError

    def load_model(self, model, class_target: str, init_kwargs: dict | None = None):
        """Rebuild ``class_target`` with ``model``'s weights in a fresh sandbox; a handle that
        answers forward calls there (use it in a ``with`` block)."""
        raise NotImplementedError

    @property
    def plotting(self) -> bool:
        """Whether pictures were asked for (``--plots``): work done only for them can be skipped."""
        raise NotImplementedError

    def artifact(self, data: dict) -> None:
        """Plain data a picture can be made of (:mod:`leedl_grader.plots`); never part of the grade."""
        raise NotImplementedError
