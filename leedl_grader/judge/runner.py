"""The judge: run a chapter's checks against one submission and produce a SubmissionResult.

The judge holds the checks, the reference and every expected value; the student's code runs
only in a :class:`~leedl_grader.sandbox.processes.Worker`. Each check is scored on its own: whatever the
student's process does during one check (raise, hang, exhaust memory, exit) costs that check,
and the judge starts a fresh worker for the next. What one check may do is :mod:`.context`.

Longer than most modules (~370 lines) for one reason: :class:`Judge` is one object with one
lifetime, the processes of a submission (zygote, a worker per file, its cgroup, GPU access) and
the loop that grades its checks, which share that state at every step.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from .. import __version__, extras
from ..authoring.checks import CheckFailed, Partial, StudentError
from ..course.chapters import Chapter
from ..forbid import scan as forbid
from ..model import Check, CheckResult, Outcome, SubmissionResult
from ..sandbox import cgroup, gpu, protocol, spawned, uid_mode, zygote_handle
from ..sandbox.policy import PROCESS, STRICT, UID, Limits, enforced, uid_for
from ..sandbox.processes import Worker, WorkerLost
from ..sandbox.zygote_handle import ZygoteProcess
from . import printed
from .budget import FLOOR_S, Spent, TimeLimits, ordinary
from .context import Context, timeout_message
from .submissions import near_misses

IMPORT_TIMEOUT = 20.0  # seconds to import one file of a submission


@dataclass(frozen=True)
class JudgeOptions:
    mode: str  # sandbox.STRICT, sandbox.UID or sandbox.PROCESS
    device: str = "cpu"
    limits: Limits = field(default_factory=Limits)
    timeout_scale: float = 1.0  # multiplies every check's time limits (slow machines)
    plots_dir: str | None = None  # where checks' pictures go (``--plots DIR``); "{student}" is replaced
    time_limits: TimeLimits | None = None  # derived from the reference (leedl grade); None: as declared


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
        self.zygote = (zygote_handle.take_preforked(getattr(chapter, "root", None))
                       or ZygoteProcess(self.workdir, getattr(chapter, "root", None)))
        self._spawned_workers = options.mode == PROCESS and spawned.wanted()
        self._workers: dict[str, Worker] = {}  # one process per file (and what it imports)
        self._extra: list[Worker] = []  # sandboxes of their own: training, rebuilt models
        self._spawn_args: dict | None = None
        self._files: dict[str, list[str]] = {}  # file stem -> the files its process may import
        self._spawned = 0
        self._group: cgroup.Group | None = None
        self._usage: dict = {}
        self._spent: Spent | None = None
        self.trainings: dict = {}  # this submission's trained models (Context.train), by request
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

    def _kill_workers(self) -> None:
        """SIGKILL every live worker now (each then reports its exit within milliseconds)."""
        for w in [*self._workers.values(), *self._extra]:
            w.kill()

    def _clean_up(self) -> None:
        """End the submission's workers and remove its cgroup."""
        try:
            self._stop_workers()
        finally:
            self._remove_group()

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
        # A file handed in under a near-miss name (Conv.py, schedules (1).py) is named, never graded
        # in its place: the one hint replaces a page of bare "missing".
        meant = near_misses(src, [f for f in self.chapter.files if f not in present], present)
        for f in self.chapter.files:
            if f not in present:
                hint = f" (found {meant[f]!r}: rename it to {f})" if f in meant else ""
                file_state[f] = (Outcome.MISSING, f"{f} is missing from the submission{hint}")
        notes += [f"{meant[f]!r} looks like {f}: rename it to {f} (files are graded by their exact names)"
                  for f in meant]
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
        self.trainings = {}
        self._spent = spent = Spent(self.options.time_limits)
        stopped = False
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
        except BaseException as exc:
            if not isinstance(exc, Exception):  # a stop (Ctrl-C, SIGTERM): kill at once, never ask politely
                stopped = True
                self._kill_workers()
            raise
        finally:
            try:
                self._clean_up()
            except Exception:
                if not stopped:
                    raise
                # A stop must reach the batch: an error here in its place would be taken for this
                # submission's fault, and the batch would go on. What is left, a later batch's sweep removes.
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
        err = protocol.failure(reply)
        if err is not None:
            if err.outcome == Outcome.FORBIDDEN.value:
                return Outcome.FORBIDDEN, f"{file}: {err.message}", ""
            return (Outcome.ERROR, f"{file} could not be imported: {err.kind}: {err.message}",
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
        with gpu.device_lock(self.options.device):
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
