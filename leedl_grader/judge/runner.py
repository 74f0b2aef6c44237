"""The judge: run a chapter's checks against one submission and produce a SubmissionResult.

The judge holds the checks, the reference and every expected value; the student's code runs
only in a :class:`~leedl_grader.sandbox.processes.Worker`. Each check is scored on its own: whatever the
student's process does during one check (raise, hang, exhaust memory, exit) costs that check,
and the judge starts a fresh worker for the next.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import statistics
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from .. import __version__, extras
from ..authoring import trained
from ..authoring.checks import CheckFailed, Partial, StudentError
from ..authoring.checks import Context as ContextProtocol
from ..course.chapters import Chapter
from ..drivers import OpTracer, synchronize
from ..forbid import scan as forbid
from ..model import Check, CheckResult, Outcome, SubmissionResult
from ..sandbox import cgroup, gpu, spawned, uid_mode
from ..sandbox.modes import PROCESS, STRICT, UID, Limits, enforced, uid_for
from ..sandbox.processes import Worker, WorkerLost, ZygoteProcess
from . import explain, printed
from .budget import FLOOR_S, Spent, TimeLimits, ordinary

IMPORT_TIMEOUT = 20.0  # seconds to import one file of a submission


@dataclass(frozen=True)
class JudgeOptions:
    mode: str  # sandbox.STRICT, sandbox.UID or sandbox.PROCESS
    device: str = "cpu"
    limits: Limits = field(default_factory=Limits)
    timeout_scale: float = 1.0  # multiplies every check's time limits (slow machines)
    plots_dir: str | None = None  # where checks' pictures go (``--plots DIR``); "{student}" is replaced
    time_limits: TimeLimits | None = None  # derived from the reference (leedl grade); None: as declared


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

    def artifact(self, name: str, data: dict) -> None:
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
        if "error" in reply:
            err = reply["error"] if isinstance(reply["error"], dict) else {}
            where = f" ({err.get('where')})" if err.get("where") else ""
            kind = str(err.get("type", "Exception"))
            message = str(err.get("message", ""))[:1000]
            text = message if kind in ("Missing", "ForbiddenOp") else f"{kind}: {message}{where}"
            if kind == "NotImplementedError":
                text = f"not implemented yet{where}"
            elif kind not in ("Missing", "ForbiddenOp"):
                trace = [str(t)[:300] for t in err.get("trace") or [] if isinstance(t, str)][-explain.MAX_FRAMES:]
                if trace:  # the student's own frames, as their process reported them
                    text += "\ntraceback (your code, innermost last):\n" + "\n".join(f"  {t}" for t in trace)
                given = explain.inputs(message_sent)
                if given:  # described here, from what the judge sent
                    text += "\n" + given
            # decided here: a CUDA out-of-memory is the student's "memory"; no other claim passes
            raise StudentError(kind, text, outcome=gpu.student_outcome(str(err.get("outcome", "error")), kind, message))
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
        ``snapshots``: also about that many copies of the weights during training (for curves)."""
        worker = self._fresh(target.partition(".")[0])
        try:
            reply = self._request({"driver": "train_export", "target": target,
                                   "spec": {"args": list(args), "kwargs": kwargs, "snapshots": int(snapshots),
                                            "package": self._judge.chapter.name}}, worker=worker)
        finally:
            self._retire(worker)
        return trained.from_reply(target, reply)

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

        sets, weights = draw(1)
        judge_time(sets, weights)  # warm-up
        bounds = bound(sets, weights)
        _, want = judge_time(sets, weights)
        t0 = time.perf_counter()
        dt = student_time(sets, weights, want)  # warm-up, and a first estimate
        first = dt if on_cpu else time.perf_counter() - t0
        n = 1
        while n < 1 << 12:
            s1, w1 = draw(n)
            if judge_time(s1, w1)[0] >= min_time:
                break
            n *= 2
        s1, w1 = draw(n)
        base = judge_time(s1, w1)[0] / n
        if first > give_up_ratio * base * 4:  # hopelessly slow: no need to time it further
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


def side_properties_pay_with_the_work(results: list[CheckResult]) -> list[CheckResult]:
    """A check of a side property (``kind="side"``: inputs left alone, a dtype, a None case) scores
    only where every correctness check of its exercise passed: a stub that returns None, or leaves
    everything alone, earns nothing for what it did not do."""
    wrong = {r.exercise for r in results if r.kind == "correctness" and r.outcome is not Outcome.PASSED}
    out = []
    for r in results:
        if r.kind == "side" and r.exercise in wrong and r.score > 0:
            short = r.exercise.partition(".")[2]
            r = dataclasses.replace(r, outcome=Outcome.FAILED, score=0.0, message=(
                f"not scored yet: {short}'s main checks must pass first (a side property scores only with "
                "the work)"))
        out.append(r)
    return out


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


def gpu_lock_path(device: str, visible: str | None = None) -> str:
    """The lock file of the physical GPU that ``device`` ("cuda", "cuda:1") names in this process:
    judges (or Dask workers) pinned to different GPUs with CUDA_VISIBLE_DEVICES do not wait on
    each other; any two on one GPU do."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "") if visible is None else visible
    index = int(device.partition(":")[2] or 0)
    ids = [v.strip() for v in visible.split(",") if v.strip()]
    physical = ids[index] if index < len(ids) else str(index)
    return os.path.join(tempfile.gettempdir(), f"leedl-gpu-{re.sub(r'[^A-Za-z0-9-]', '_', physical)}.lock")


class Judge:
    """Grades submissions of one chapter. Reuses one zygote for every submission."""

    def __init__(self, chapter: Chapter, checks: tuple[Check, ...], options: JudgeOptions,
                 reference=None, data: dict | None = None, workdir: Path | None = None,
                 stubs: dict[str, bytes] | None = None):
        self.chapter = chapter
        self.stubs = stubs or {}  # file name -> the released stub's bytes
        self.student = ""
        self.checks = checks
        # The chapter's own [limits] (chapter.toml) replace the defaults they name.
        own = getattr(chapter, "limits", None) or {}
        self.options = replace(options, limits=replace(options.limits, **own)) if own else options
        self.reference = reference
        self.data = data or {}
        self._tmp = tempfile.TemporaryDirectory(prefix="leedl-judge-") if workdir is None else None
        self.workdir = Path(workdir or self._tmp.name)
        self.zygote = ZygoteProcess(self.workdir, getattr(chapter, "root", None))
        self._spawned_workers = options.mode == PROCESS and spawned.wanted()
        self._workers: dict[str, Worker] = {}  # one process per file (and what it imports)
        self._extra: list[Worker] = []  # sandboxes of their own: training, rebuilt models
        self._spawn_args: dict | None = None
        self._files: dict[str, list[str]] = {}  # file stem -> the files its process may import
        self._spawned = 0
        self._group: cgroup.Group | None = None
        self._usage: dict = {}
        self._spent: Spent | None = None
        self._judge_group: cgroup.JudgeGroup | None = None
        self._printed = printed.Logs()
        self._gpu: dict | None = None  # what a sandbox on the GPU may see, decided once (gpu.sandbox_access)
        torch.set_num_threads(1)

    def start(self) -> None:
        """Start the zygote now (cheap to call again), inside the judge's own memory limit."""
        if self._judge_group is None:
            self._judge_group = cgroup.JudgeGroup(self.options.limits.judge_memory_mb)
        if not self._spawned_workers:
            self.zygote.start()

    def close(self) -> None:
        self._stop_workers()
        self.zygote.close()
        self._remove_group()
        if self._judge_group is not None:
            self._judge_group.leave()
            self._judge_group = None
        if self._tmp is not None:
            self._tmp.cleanup()

    def limits_for(self, check: Check) -> tuple[float, float]:
        """(wall, CPU) seconds for one check: derived from the reference for ordinary checks and
        never past the submission's budgets; fixed in chapter.toml for training (budget.py)."""
        tl = self.options.time_limits
        wall, cpu = tl.for_check(check) if tl is not None else (check.timeout, check.cpu_limit or check.timeout)
        fixed = (getattr(self.chapter, "training_cpu_s", None) or {}).get(check.exercise)
        if check.kind == "training" and fixed:
            cpu, wall = fixed, max(check.timeout, 2 * fixed + 10)  # CPU binds, even on a busy machine
        spent = self._spent
        if spent is not None and spent.limits is not None and ordinary(check):
            left = spent.left()
            ex_left = spent.limits.exercise_hang_s - spent.hung.get(check.exercise, 0.0)
            wall = min(wall, max(ex_left, FLOOR_S), *([max(left, 0.5)] if left is not None else []))
            cpu = min(cpu, wall)
        scale = self.options.timeout_scale
        return wall * scale, cpu * scale

    def enforced(self) -> tuple[str, ...]:
        """The limits the sandbox enforces here, and by what."""
        b, why = cgroup.backend()
        out = enforced(self.options.limits, self.options.mode, b.version if b else "", why)
        line = gpu.describe(self._gpu_access())
        return out + (line,) if line else out

    def _gpu_access(self) -> dict | None:
        """The GPU's device nodes, driver libraries and environment for a strict sandbox on it."""
        if self.options.mode != STRICT or not self.options.device.startswith("cuda"):
            return None
        if self._gpu is None:
            self._gpu = gpu.sandbox_access(self.options.device)
        return self._gpu

    def _new_group(self) -> cgroup.Group | None:
        """The submission's cgroup (None where the machine offers none: rlimits only)."""
        b, _ = cgroup.backend()
        if b is None or self._spawned_workers:  # a spawned worker joins no group: rlimits only
            return None
        lim = self.options.limits
        return b.create("sub", memory_mb=lim.memory_mb, pids=lim.nproc, cpus=lim.cpus)

    def _remove_group(self) -> None:
        if self._group is not None:
            group, self._group = self._group, None
            self._usage = {"memory_peak_mb": round(group.memory_peak() / 2**20, 1),
                           "cpu_s": round(group.cpu_seconds(), 3)}
            if not group.remove():
                raise WorkerLost("crashed", "the sandbox's cgroup could not be emptied and removed")

    # --- workers -------------------------------------------------------------------------
    def _spawn(self, stem: str) -> Worker:
        """A new sandboxed process that holds ``stem``'s file and the siblings it imports, nothing else."""
        self._spawned += 1
        scratch = self.workdir / f"w{self._spawned}"
        files = self._files.get(stem) or [f"{stem}.py"]
        # A uid of its own: never one a live sandbox of this judge still holds (its limits and, in
        # uid mode, the killing of every process of the uid are per uid).
        live = {w.uid for w in [*self._workers.values(), *self._extra]}
        while uid_for(os.getpid(), self._spawned) in live:
            self._spawned += 1
        if self._group is None:  # one cgroup for every process of the submission
            self._group = self._new_group()
        if self._spawned_workers:  # no fork here: a fresh interpreter per worker (spawned.py)
            return spawned.SpawnedWorker(scratch=scratch, uid=uid_for(os.getpid(), self._spawned),
                                         mode=self.options.mode, limits=self.options.limits, files=files,
                                         chapter_root=getattr(self.chapter, "root", None), **self._spawn_args)
        return Worker(self.zygote, scratch=scratch, uid=uid_for(os.getpid(), self._spawned),
                      mode=self.options.mode, limits=self.options.limits, files=files, group=self._group,
                      gpu=self._gpu_access(), **self._spawn_args)

    def worker(self, stem: str) -> Worker:
        """The process of one file: it imported only that file and what that file imports."""
        if stem not in self._workers:
            self._workers[stem] = self._spawn(stem)
        return self._workers[stem]

    def fresh_worker(self, stem: str) -> Worker:
        """A process of its own for one task (training, a rebuilt model); end it with :meth:`retire`."""
        w = self._spawn(stem)
        self._extra.append(w)
        return w

    def retire(self, worker: Worker) -> None:
        """End a worker and everything it started (raises WorkerLost when that cannot be confirmed)."""
        self._forget(worker)
        worker.close()

    def lose(self, worker: Worker) -> None:
        """A worker that broke a limit or died: make sure it is gone; the next request gets a new one."""
        self._forget(worker)
        worker.kill()
        worker.wait()

    def _forget(self, worker: Worker) -> None:
        self._workers = {k: w for k, w in self._workers.items() if w is not worker}
        self._extra = [w for w in self._extra if w is not worker]

    def forbidden_ops(self) -> dict[str, tuple[str, ...]]:
        """``{module stem: aten ops traced at run time}`` for the chapter's files."""
        ops = getattr(self.chapter, "forbidden_ops", None) or {}
        return {f[:-3]: tuple(v) for f, v in ops.items() if v and f.endswith(".py")}

    def _stop_workers(self) -> None:
        lost = None
        for w in [*self._workers.values(), *self._extra]:
            try:
                w.close()
            except WorkerLost as exc:
                lost = exc
        self._workers, self._extra = {}, []
        if lost is not None:
            raise lost

    # --- grading -------------------------------------------------------------------------
    def grade(self, src: Path, student: str, seed: int, key: str = "", only: tuple[str, ...] = ()) -> SubmissionResult:
        """Grade one submission folder; with ``only``, just the checks of those exercises."""
        t0 = time.perf_counter()
        self.student = student
        self._printed.reset()
        checks = [c for c in self.checks if not only or c.exercise in only]
        needed = {c.exercise.split(".", 1)[0] + ".py" for c in checks}
        src = Path(src)
        present = [f for f in self.chapter.files if (src / f).is_file() and not (src / f).is_symlink()]
        notes = [f"{f} is a link; links are not followed" for f in self.chapter.files if (src / f).is_symlink()]
        if self.options.mode == UID and not uid_mode.landlock_abi():
            notes.append("uid sandbox without Landlock: the student's code could read world-readable files")
        self._spawn_args = {"src": str(src), "package": self.chapter.name, "forbidden_ops": self.forbidden_ops()}
        file_state = {f: None for f in present}
        for f in self.chapter.files:
            if f not in present:
                file_state[f] = (Outcome.MISSING, f"{f} is missing from the submission")
        self._files = {}
        for f in present:
            # Decided here, from the bytes as Python compiles them: a file (or a sibling it imports)
            # that Python could not decode or compile costs its exercises, with the reason.
            self._files[f[:-3]] = forbid.closure(src, f, self.chapter.name)
            for g in self._files[f[:-3]]:
                why = forbid.parse_error(src / g)
                if why is not None:
                    file_state[f] = (Outcome.ERROR, why if g == f else f"{why} ({f} imports it)")
                    break
        for f in present:
            if file_state[f] is None and self._unchanged(src, self._files[f[:-3]]):
                # Decided from the bytes: the file and every sibling it imports are the released
                # stubs, whose exercises all raise NotImplementedError (``leedl validate`` runs the
                # stubs to prove that they score nothing). No process is started for it.
                file_state[f] = (Outcome.MISSING, f"{f} is unchanged from the stub: not implemented yet")
        forbidden = forbid.scan_exercises(self.chapter, src, present)
        results = []
        self._usage = {}
        self._spent = spent = Spent(self.options.time_limits)
        try:
            for f in present:
                # A file whose every exercise is forbidden is never imported: nothing of it can earn a mark.
                if f in needed and file_state[f] is None and not all(
                        e.name in forbidden for e in self.chapter.exercises if e.file == f):
                    t = time.perf_counter()
                    file_state[f] = self._probe(f)
                    spent.add(None, time.perf_counter() - t, False)
            for check in checks:
                runs = (check.exercise not in forbidden
                        and file_state.get(self.chapter.exercise(check.exercise).file) is None)
                why = spent.refusal(check) if runs else None
                if why is not None:
                    results.append(CheckResult(
                        name=check.name, exercise=check.exercise, outcome=Outcome.TIMEOUT, score=0.0,
                        max_score=check.points, message=why, visibility=check.visibility, kind=check.kind))
                    continue
                r = self._run_check(check, seed, file_state, forbidden)
                if ordinary(check):
                    spent.add(check, r.duration, r.outcome is Outcome.TIMEOUT)
                results.append(r)
        finally:
            try:
                self._stop_workers()
            finally:
                self._remove_group()
        results = side_properties_pay_with_the_work(results)
        return SubmissionResult(
            student=student, assignment=self.chapter.name, seed=seed, sandbox=self.options.mode,
            leedl_version=__version__, results=tuple(results), execution_time=round(time.perf_counter() - t0, 3),
            device=self.options.device, key=key, notes=tuple(notes), enforced=self.enforced(),
            usage=self._usage,
        )

    def _unchanged(self, src: Path, files: list[str]) -> bool:
        """Whether every file of ``files`` is byte for byte its released stub."""
        try:
            return bool(self.stubs) and all(
                f in self.stubs and (src / f).read_bytes() == self.stubs[f] for f in files)
        except OSError:
            return False

    def _probe(self, file: str):
        """Import one file in the student's process; None when it imports."""
        stem = file[:-3]
        w = None
        limit = IMPORT_TIMEOUT
        if self._spent is not None and self._spent.left() is not None:
            limit = min(limit, max(self._spent.left(), 0.5))
        limit *= self.options.timeout_scale
        try:
            w = self.worker(stem)
            deadline = time.monotonic() + limit
            reply = w.request({"driver": "probe", "target": stem, "spec": {}}, deadline=deadline,
                              cpu_deadline=w.cpu() + limit)
        except WorkerLost as lost:
            if w is not None:
                self.lose(w)
            message = timeout_message(lost, limit, limit, "importing it") if lost.outcome == "timeout" else lost.message
            return (Outcome(lost.outcome), f"{file} could not be imported: {message}",
                    self._printed.take([w.log]) if w is not None else "")
        if "error" in reply:
            err = reply["error"] if isinstance(reply["error"], dict) else {}
            if err.get("outcome") == Outcome.FORBIDDEN.value:
                return Outcome.FORBIDDEN, f"{file}: {str(err.get('message'))[:1000]}", ""
            return (Outcome.ERROR, f"{file} could not be imported: {err.get('type')}: {str(err.get('message'))[:1000]}",
                    self._printed.take([w.log]))
        return None  # what the import printed goes with the first check of the file

    def _run_check(self, check: Check, seed: int, file_state: dict, forbidden: dict) -> CheckResult:
        ex = self.chapter.exercise(check.exercise)

        ctx = None

        def result(outcome: Outcome, message: str, fraction: float = 0.0, ratio=None, started=None, detail=None,
                   output=None):
            if output is None:  # what the student's code printed during the check: kept where it lost points
                output = self._printed.take(ctx.logs) if ctx is not None else ""
            return CheckResult(
                name=check.name, exercise=check.exercise, outcome=outcome,
                score=round(check.points * fraction, 6), max_score=check.points, message=message,
                visibility=check.visibility, kind=check.kind, ratio=ratio,
                duration=round(time.perf_counter() - started, 3) if started else 0.0, detail=detail or {},
                output=output if outcome is not Outcome.PASSED else "",
            )

        if ex.name in forbidden:
            return result(Outcome.FORBIDDEN, forbidden[ex.name])
        state = file_state.get(ex.file)
        if state is not None:
            return result(state[0], state[1], output=state[2] if len(state) > 2 else "")
        started = time.perf_counter()
        ctx = Context(self, check, seed, self.reference, self.data)
        with self._device_lock():
            try:
                verdict = check.fn(ctx)
            except CheckFailed as exc:
                return result(Outcome.FAILED, str(exc) or "wrong result", ratio=ctx.ratio, started=started)
            except StudentError as exc:
                return result(Outcome(exc.outcome), exc.message, ratio=ctx.ratio, started=started)
            except WorkerLost as lost:  # the worker is already gone (Context._request)
                return result(Outcome(lost.outcome), lost.message, started=started)
            except Exception as exc:  # the check itself broke: the grader's fault, reported to the TA
                need = extras.missing(exc)
                if need is not None:  # this machine lacks an optional package: nobody's bug, said as such
                    return result(Outcome.FAULT, need, started=started, detail={"missing_extra": need})
                tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
                where = traceback.extract_tb(exc.__traceback__)[-1]
                return result(Outcome.FAULT, "the grader failed on this check (not the student's doing; "
                              "the TA has the details)", ratio=ctx.ratio, started=started,
                              detail={"judge_error": tb[:1000], "where": f"{where.filename}:{where.lineno}"})
        if isinstance(verdict, Partial):
            frac = min(max(float(verdict.fraction), 0.0), 1.0)
            outcome = Outcome.PASSED if frac >= 1.0 else Outcome.PARTIAL if frac > 0 else Outcome.FAILED
            return result(outcome, verdict.message, fraction=frac, ratio=ctx.ratio, started=started)
        return result(Outcome.PASSED, "", fraction=1.0, ratio=ctx.ratio, started=started)

    @contextlib.contextmanager
    def _device_lock(self):
        """Checks on one GPU run one at a time, across every judge process of the machine."""
        if not self.options.device.startswith("cuda"):
            yield
            return
        import fcntl

        with open(gpu_lock_path(self.options.device), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
