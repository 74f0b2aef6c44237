"""The check context: what one check may do with the submission, implemented by the judge.

Each check gets its own :class:`Context`: its seeded generators, its wall and CPU budgets (one
for every sandbox it uses), its requests to the student's processes (an error reply becomes a
:class:`~leedl_grader.authoring.checks.StudentError` described in the student's terms), trained
models, pictures, and speed ratios timed beside a yardstick.

About 320 lines, a third of them :meth:`Context.time_ratio`, whose defences against a process
that caches or skips work only make sense read together.
"""

from __future__ import annotations

import contextlib
import hashlib
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .. import codec
from ..authoring import trained
from ..authoring.checks import CheckFailed, StudentError
from ..authoring.checks import Context as ContextProtocol
from ..drivers import OpTracer, synchronize
from ..model import Check
from ..sandbox import gpu, protocol
from ..sandbox.processes import WorkerLost
from . import explain

if TYPE_CHECKING:
    from .runner import Judge


def check_seed(seed: int, check: Check, stream: str = "") -> int:
    h = hashlib.sha256(f"{seed}/{check.exercise}/{check.name}/{stream}".encode()).digest()
    return int.from_bytes(h[:8], "little") & ((1 << 63) - 1)


class Context(ContextProtocol):
    """The implementation of :class:`leedl_grader.authoring.checks.Context` for one check."""

    def __init__(self, judge: Judge, check: Check, seed: int, reference, data: dict):
        self._judge = judge
        self._check = check
        self.seed = seed
        self.device = torch.device(judge.options.device)
        self.reference = reference
        self.data = data
        wall, cpu = judge.limits_for(check) if hasattr(judge, "limits_for") else (
            check.timeout, check.cpu_limit or check.timeout)
        self._deadline = time.monotonic() + wall
        self._wall = wall
        self._cpu_budget = cpu
        self._cpu_used: dict[int, tuple] = {}  # id(worker) -> (worker, CPU seconds at its first request)
        self._file = check.exercise.partition(".")[0]
        self.ratio: float | None = None
        self.plots: list[str] = []
        self.logs: list[Path] = []  # the output logs of the sandboxes this check used (printed.py)

    def artifact(self, data: dict) -> None:
        """Plain data a picture can be made of (filters, a confusion matrix). Saved as PNGs only when
        ``--plots`` asked for them; never part of the grade."""
        where = self._judge.options.plots_dir
        if where:
            from ..plots import save_plots

            where = where.replace("{student}", self._judge.student)  # leedl grade --plots: one folder each

            self.plots += [str(p) for p in save_plots(self._judge.chapter.name, data, where)]

    def generator(self, stream: str = "") -> torch.Generator:
        return torch.Generator().manual_seed(check_seed(self.seed, self._check, stream))

    def _cpu_left(self, worker) -> float:
        """This check's CPU budget less what its other sandboxes used (one budget for them all)."""
        group = getattr(worker, "group", None)
        if group is not None:  # one cgroup counts every process of the submission: since the first request
            first = min(start for w, start in self._cpu_used.values() if getattr(w, "group", None) is group)
            return self._cpu_budget - (self._cpu_used[id(worker)][1] - first)
        used = 0.0
        for w, start in self._cpu_used.values():
            if w is not worker:
                used += max((w.exit_cpu if w.exit_status is not None else w.cpu()) - start, 0.0)
        return self._cpu_budget - used

    def _request(self, message, worker=None):
        message_sent = message
        if worker is None:
            target = message.get("target") if isinstance(message, dict) else None
            t0 = time.monotonic()
            worker = self._judge.worker(str(target or self._file).partition(".")[0])
            self._deadline += time.monotonic() - t0  # starting a sandbox is not the student's time
        if id(worker) not in self._cpu_used:
            self._cpu_used[id(worker)] = (worker, worker.cpu())
            self.logs.append(worker.log)
        start = self._cpu_used[id(worker)][1]
        try:
            reply = worker.request(message, deadline=self._deadline, cpu_deadline=start + self._cpu_left(worker))
        except WorkerLost as lost:
            self._judge.lose(worker)
            if lost.outcome == "timeout" and self._cpu_budget is not None:
                raise WorkerLost("timeout", timeout_message(lost, self._wall, self._cpu_budget, "this check")) \
                    from None
            raise
        err = protocol.failure(reply)
        if err is not None:
            where = f" ({err.where})" if err.where else ""
            kind, message = err.kind, err.message
            text = message if kind in ("Missing", "ForbiddenOp") else f"{kind}: {message}{where}"
            if kind == "NotImplementedError":
                text = f"not implemented yet{where}"
            elif kind not in ("Missing", "ForbiddenOp"):
                trace = err.trace[-explain.MAX_FRAMES:]
                if trace:  # the student's own frames, as their process reported them
                    text += "\ntraceback (your code, innermost last):\n" + "\n".join(f"  {t}" for t in trace)
                given = explain.inputs(message_sent)
                if given:  # described here, from what the judge sent
                    text += "\n" + given
            # decided here: a CUDA out-of-memory is the student's "memory"; no other claim passes
            raise StudentError(kind, text, outcome=gpu.student_outcome(err.outcome, kind, message))
        return reply["ok"]

    # --- trained models (leedl_grader.authoring.trained) ----------------------------------------------
    @property
    def plotting(self) -> bool:
        """Whether pictures were asked for (``--plots``): work done only for them can be skipped."""
        return bool(self._judge.options.plots_dir)

    def train(self, target: str, *args, snapshots: int = 0, **kwargs) -> trained.TrainedModel:
        """Call the training function ``target`` with the given data in a sandbox of its own and
        take back the returned model as plain data (class name, ``state_dict``, layers). The
        sandbox is ended before this returns: nothing it did can touch what is judged next.
        ``snapshots``: also about that many copies of the weights during training (for curves).

        One training per submission and call: a second check (public, hidden) that asks for the
        same training (same function, data, arguments) reads the model, or the error, of the
        first. Kept in the judge for one submission only."""
        spec = {"args": list(args), "kwargs": kwargs, "snapshots": int(snapshots),
                "package": self._judge.chapter.name}
        key = hashlib.sha256(target.encode() + b"\0" + codec.encode(spec)).hexdigest()
        done = self._judge.trainings.get(key)
        if done is not None:
            if isinstance(done, StudentError):
                raise StudentError(done.kind, done.message, outcome=done.outcome)
            return done
        worker = self._fresh(target.partition(".")[0])
        try:
            reply = self._request({"driver": "train_export", "target": target, "spec": spec}, worker=worker)
        except StudentError as exc:  # the student's own error (not a limit): the same next time
            self._judge.trainings[key] = exc
            raise
        finally:
            self._retire(worker)
        model = trained.from_reply(target, reply)
        self._judge.trainings[key] = model
        return model

    def load_model(self, model: trained.TrainedModel, class_target: str, init_kwargs: dict | None = None):
        """Rebuild ``class_target`` (``FILE.Class``) in a fresh sandbox that never ran the training,
        load ``model``'s weights into it and return a :class:`~leedl_grader.authoring.trained.RemoteModel`
        that answers forward calls there. An object of another class or an empty ``state_dict``
        fails the check with a message."""
        trained.expect_class(model, class_target)
        worker = self._fresh(class_target.partition(".")[0])
        try:
            self._request({"driver": "model_load", "target": class_target,
                           "spec": {"state_dict": model.state_dict, "init_kwargs": init_kwargs or {},
                                    "device": str(self.device)}}, worker=worker)
        except BaseException:
            self._retire(worker)
            raise
        return trained.RemoteModel(self, worker, class_target)

    def _model_request(self, worker, class_target: str, spec: dict):
        return self._request({"driver": "model_call", "target": class_target, "spec": spec}, worker=worker)

    def _fresh(self, stem: str):
        t0 = time.monotonic()
        worker = self._judge.fresh_worker(stem)
        self._deadline += time.monotonic() - t0  # starting a sandbox is not the student's time
        return worker

    def _retire(self, worker) -> None:
        self._judge.retire(worker)  # its CPU time still counts against this check (_cpu_left)

    def run(self, driver: str, target: str | None = None, **spec):
        return self._request({"driver": driver, "target": target, "spec": spec})

    def call(self, target: str, *args, **kwargs):
        return self.run("call", target=target, args=list(args), kwargs=kwargs)["out"]

    def time_ratio(self, target, args, yardstick, *, kwargs=None, repeats: int = 7, min_time: float = 0.02,
                   give_up_ratio: float = 100.0, vary=None, rtol: float = 1e-4, build: dict | None = None,
                   clock: str = "wall") -> float:
        """Median over ``repeats`` interleaved rounds of (student wall time / yardstick wall time).

        Nothing the student's process could answer from a cache or skip: each round draws fresh
        inputs (``vary(args, generator)``, by default the floating tensors of ``args`` nudged by a
        relative 1e-3), stages them in an untimed request, then times one request that calls the
        function once on each and returns a judge-keyed digest of every output (Σ out·w, weights
        drawn here). The yardstick runs on the same inputs here, digest included, one thread; GPU
        work is synchronized before every clock read; the channel's round trip is subtracted. A
        digest that differs from the yardstick's (wrong, missing or skipped output) fails the check.
        With ``build`` (keyword arguments of ``drivers.modules.build_module``) the target is a module
        class, built in the untimed request; its ``forward`` is what is timed. ``clock="cpu"`` (CPU
        devices only) compares CPU time instead: the yardstick's thread time here against the
        student's process's CPU time read by the judge from the kernel, which other processes on a
        busy machine do not inflate.
        """
        from ..drivers import digest, leaves

        kwargs = kwargs or {}
        torch.set_num_threads(1)
        g = self.generator("timing")
        vary = vary or _nudge
        traced = bool(self._judge.forbidden_ops().get(str(target).partition(".")[0]))
        base_out = yardstick(*args, **kwargs)
        shapes = [None if t is None else (tuple(t.shape), t.device) for t in leaves(base_out)]
        if any(s is None for s in shapes):
            raise ValueError("time_ratio: the yardstick's output must be tensors")

        def draw(n):
            sets = [(list(vary(args, g)), dict(kwargs)) for _ in range(n)]
            weights = [[torch.randn(s, generator=g, dtype=torch.float64).to(d) for s, d in shapes] for _ in range(n)]
            return sets, weights

        on_cpu = clock == "cpu" and self.device.type == "cpu"
        judge_clock = time.thread_time if on_cpu else time.perf_counter

        def student_clock():
            return self._judge.worker(str(target).partition(".")[0]).cpu_precise() if on_cpu else time.perf_counter()

        def judge_time(sets, weights):
            with OpTracer() if traced else contextlib.nullcontext():
                synchronize()  # nothing queued before the clock starts (GPU): the yardstick's work only
                t0 = judge_clock()
                want = [digest(yardstick(*a, **k), w) for (a, k), w in zip(sets, weights)]
                synchronize()
                return judge_clock() - t0, want

        def student_time(sets, weights, want):
            self.run("stage", target=target, inputs=[[a, k] for a, k in sets], weights=weights, build=build)  # untimed
            t0 = student_clock()
            got = self.run("time_staged", target=target)
            dt = student_clock() - t0
            if not isinstance(got, list) or len(got) != len(want):
                raise CheckFailed("speed is scored only on right answers: the timed calls did not all return")
            for i, (a, b) in enumerate(zip(got, want)):
                tol = rtol * (abs(b) + bounds[i]) + 1e-9
                if not isinstance(a, float) or not abs(a - b) <= tol:
                    raise CheckFailed("speed is scored only on right answers: a timed call returned a wrong "
                                      "or missing output (on inputs it had not seen before)")
            return dt

        def overhead():
            self.run("stage", target=target, inputs=[], weights=[], build=build)
            t0 = student_clock()
            self.run("time_staged", target=target)
            return student_clock() - t0

        def bound(sets, weights):  # Σ|y|·|w|: the scale of each digest, for its tolerance
            return [sum(float((y.detach().to(torch.float64).abs() * w.abs()).sum())
                        for y, w in zip(leaves(yardstick(*a, **k)), ws)) for (a, k), ws in zip(sets, weights)]

        def one_set(warm_up: bool = False) -> float:  # the student's time on one fresh input set
            nonlocal bounds
            sets, weights = draw(1)
            if warm_up:
                judge_time(sets, weights)
            bounds = bound(sets, weights)
            _, want = judge_time(sets, weights)
            t0 = time.perf_counter()
            dt = student_time(sets, weights, want)
            return dt if on_cpu else time.perf_counter() - t0

        bounds: list[float] = []
        first = one_set(warm_up=True)  # both sides' warm-up, and a first estimate
        n = 1
        while n < 1 << 12:
            s1, w1 = draw(n)
            if judge_time(s1, w1)[0] >= min_time:
                break
            n *= 2
        s1, w1 = draw(n)
        base = judge_time(s1, w1)[0] / n
        if first > give_up_ratio * base * 4:  # hopeless, or a first call paying a lazy import?
            first = one_set()
        if first > give_up_ratio * base * 4:  # hopelessly slow, twice: no need to time it further
            self.ratio = first / base
            return self.ratio
        rt = min(overhead() for _ in range(3))
        ratios = []
        for _ in range(repeats):
            sets, weights = draw(n)
            bounds = bound(sets, weights)
            ty, want = judge_time(sets, weights)
            ts = max(student_time(sets, weights, want) - rt, 1e-9)
            ratios.append(ts / ty)
        self.ratio = statistics.median(ratios)
        return self.ratio


def timeout_message(lost: WorkerLost, wall: float, cpu: float, what: str) -> str:
    """"time limit exceeded: 20 s of wall time and 20 s of CPU time for this check; the code was at
    schedules.py:12 in step_decay (as its process reported)"."""
    kind = "CPU time" if lost.message.startswith("CPU") else "time"
    text = f"{kind} limit exceeded: {wall:.3g} s of wall time and {cpu:.3g} s of CPU time for {what}"
    if "sandbox's total" in lost.message:
        text = lost.message
    if lost.where:
        text += f"; the code was at {lost.where} when stopped (as its process reported)"
    else:
        text += "; where the code was is unknown (its process did not say)"
    return text


def _nudge(args, g: torch.Generator):
    """The same arguments with every floating tensor moved by a relative 1e-3 (judge-drawn):
    new values, the same shapes, dtypes, devices and structure."""
    out = []
    for a in args:
        if isinstance(a, torch.Tensor) and a.is_floating_point():
            noise = torch.randn(a.shape, generator=g, dtype=torch.float64).to(a.device, a.dtype)
            out.append(a + 1e-3 * (a.abs().mean() + 1e-3) * noise)
        else:
            out.append(a)
    return out
