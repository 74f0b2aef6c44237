"""Grade a batch on a Dask cluster: one task per (student, device), judged on the workers.

The client (``leedl grade --scheduler``) decides what to grade and writes every result, exactly
as with the local pool (:mod:`batch`): same files, same resume and skip rules, same seed. What a
task carries and what a worker does with it is :mod:`dask_task`; a result comes back as JSON text
of its lossless record, which the client parses as data (never unpickles).

Faults. A worker that dies mid-task: Dask runs the task again elsewhere and the client writes
each student once. A worker that holds a task past its time limit: the client has it restarted
(or dropped, without a nanny), and its tasks run elsewhere. No worker able to grade for a while:
the batch stops with a message. The client killed: the scheduler forgets its tasks, and a rerun
resumes from the files already written.

Security: a Dask worker runs whatever it is sent (as root, for the strict sandbox), so a
scheduler off this machine is reached over TLS only (:mod:`.cluster_address`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

from .. import __version__
from ..model import Outcome
from . import batch, results, stopping
from .cluster_address import DistributedError, check, require_dask, security_for
from .cluster_task import TOPIC, grade_task, pack, probe
from .runner import IMPORT_TIMEOUT, JudgeOptions
from .submissions import SubmissionError

# What the client decodes from the cluster: replies are bytes (JSON text), never a pickle.
SAFE = ("dask", "msgpack")
MAX_TRIES = 5  # refusals (or losses) of one student's task before it is written as a grader fault
TIMEOUT_SLACK = 60.0  # seconds on top of the longest a healthy judge can take over one student


class TaskError(Exception):
    """One student's task failed on the cluster (not the student's doing): a grader fault."""


async def _without_restarts(nanny) -> None:
    nanny.close_gracefully()  # the nanny's own way to be told that its worker's end is expected


# --- the batch ----------------------------------------------------------------------------------
def task_resources(device: str) -> dict:
    """GPU checks go to workers that offer a ``GPU`` resource, one task per unit; CPU anywhere."""
    return {"GPU": 1} if device.startswith("cuda") else {}


def time_limit(checks, chapter, options: JudgeOptions) -> float:
    """The longest a healthy judge can take over one student, plus slack: past it, the worker
    holding the task is taken for hung."""
    scale = options.timeout_scale
    return (sum(c.timeout for c in checks) + IMPORT_TIMEOUT * len(chapter.files)) * scale + TIMEOUT_SLACK


class DaskBackend:
    """A :class:`batch.Backend` on a Dask cluster: ``client``, or one made on first use from
    ``scheduler`` (an address, or "local" for ``workers`` processes here, their course ``course``).
    Use it as a context manager: what it started, it closes."""

    def __init__(self, client=None, *, scheduler: str | None = None, workers: int = 2, course: Path | None = None,
                 task_timeout: float | None = None, wait_for_workers: float = 60.0,
                 on_note: Callable[[str], None] | None = None):
        self._client = client
        self.scheduler = scheduler
        self.workers = workers
        self.course = course
        self.task_timeout = task_timeout
        self.wait_for_workers = wait_for_workers
        self.note = on_note or (lambda text: None)
        self._stack = contextlib.ExitStack()
        self._local = None  # the LocalCluster made for scheduler="local"

    def __enter__(self) -> DaskBackend:
        return self

    def __exit__(self, kind, *exc) -> None:
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            self._kill_local_workers()
        self.close()

    def _kill_local_workers(self) -> None:
        """A stopped batch: each local worker busy with a student would have its nanny's four
        seconds of grace to finish. Killed now instead (told first not to restart them), each takes
        its judge's zygote and sandboxes along, as the local pool's judges do; the batch's sweep
        removes their cgroups."""
        if self._local is None:
            return
        for nanny in list(self._local.workers.values()):
            try:
                self._local.sync(_without_restarts, nanny)  # on the cluster's event loop
                if nanny.pid:
                    os.kill(nanny.pid, signal.SIGKILL)
            except Exception:  # noqa: BLE001  (gone already, or never started: close() deals with it)
                pass

    def close(self) -> None:
        self._stack.close()

    @property
    def client(self):
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self):
        require_dask()
        from distributed import Client, LocalCluster

        if self.scheduler == "local":
            env = {"LEEDL_COURSE": str(self.course)} if self.course is not None else {}
            cluster = self._local = self._stack.enter_context(LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR, env=env))
            return self._stack.enter_context(Client(cluster, set_as_default=False, deserializers=SAFE))
        security = security_for(self.scheduler)
        try:
            return self._stack.enter_context(Client(self.scheduler, security=security, timeout=30,
                                                    set_as_default=False, deserializers=SAFE))
        except (OSError, TimeoutError) as exc:
            raise DistributedError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}") from None

    def _preflight(self, job: dict, resources: dict) -> dict[str, str]:
        try:
            self.client.wait_for_workers(1, timeout=self.wait_for_workers)
        except TimeoutError:
            raise DistributedError(f"no Dask worker joined within {self.wait_for_workers:g} s") from None
        if resources:
            info = self.client.scheduler_info(n_workers=-1)["workers"]
            if not any(w.get("resources", {}).get("GPU", 0) >= 1 for w in info.values()):
                raise DistributedError("--device cuda, but no worker offers a GPU: start GPU workers with "
                                       "`dask worker ... --resources GPU=1` (one per GPU)")
        reasons = self.client.run(probe, job)
        refusers = {addr: why for addr, why in reasons.items() if why}
        if len(refusers) == len(reasons):
            raise DistributedError("no worker can grade this batch:\n" + "\n".join(
                f"  {addr}: {why}" for addr, why in sorted(refusers.items())))
        for addr, why in sorted(refusers.items()):
            self.note(f"worker {addr} gets no task: {why}")
        return refusers

    def grade(self, suite, options, seed, todo, finish, fault) -> None:
        client = self.client
        chapter, checks, _, _ = suite.load()
        job = {"chapter": suite.chapter, "kinds": list(suite.kinds), "fingerprint": suite.fingerprint(),
               "version": __version__, "options": options, "seed": seed}
        resources = task_resources(options.device)
        refusers = self._preflight(job, resources)
        limit = self.task_timeout or time_limit(checks, chapter, options)
        done_q: queue.Queue = queue.Queue()
        started: dict[str, tuple[float, str]] = {}  # task key -> (when the client heard, worker)
        pending: dict = {}  # future -> [sub, key, payload, tries, timeouts]
        seen: set[str] = set()

        def on_start(event) -> None:  # runs in the client's event-loop thread
            _, msg = event
            if isinstance(msg, dict) and "key" in msg:
                started[str(msg["key"])] = (time.monotonic(), str(msg.get("worker", "")))

        def allowed() -> list[str] | None:
            if not refusers:
                return None
            live = [a for a in client.scheduler_info(n_workers=-1)["workers"] if a not in refusers]
            if not live:
                raise DistributedError("no worker left that can grade this batch:\n" + "\n".join(
                    f"  {addr}: {why}" for addr, why in sorted(refusers.items())))
            return live

        def submit(entry: list) -> None:
            sub = entry[0]
            name = f"leedl-{chapter.short}-{sub.student}-{options.device}-{uuid.uuid4().hex[:8]}"
            task = {**job, "student": sub.student, "key": entry[1], "only": list(sub.only)}
            f = client.submit(grade_task, entry[2], task, key=name, pure=False, resources=resources or None,
                              workers=allowed(), allow_other_workers=False)
            pending[f] = entry
            f.add_done_callback(done_q.put)

        def settle(entry: list, reply) -> None:
            sub = entry[0]
            if sub.student in seen:  # a late duplicate: each student is written once
                return
            seen.add(sub.student)
            if isinstance(reply, str):
                fault(sub, TaskError(reply))
            else:
                finish(reply)

        client.subscribe_topic(TOPIC, on_start)
        try:
            for sub, key in todo:
                try:
                    payload = pack(sub, chapter)
                except (SubmissionError, OSError) as exc:
                    r = batch.blank_result(chapter, checks, sub.student, seed, options, Outcome.MISSING, str(exc),
                                           key=key)  # as the local pool writes a zip it cannot read
                    seen.add(sub.student)
                    finish(results.to_record(r))
                    continue
                submit([sub, key, payload, 0, 0])
            last_check = last_able = time.monotonic()
            while pending:
                try:
                    f = done_q.get(timeout=1.0)
                except queue.Empty:
                    f = None
                if f is not None and f in pending:
                    self._handle(f, pending.pop(f), submit, settle, refusers, started)
                now = time.monotonic()
                if now - last_check >= 1.0:
                    last_check = now
                    self._enforce(limit, pending, started, settle)
                    if self._able(resources, refusers):
                        last_able = now
                    elif now - last_able > self.wait_for_workers:
                        raise DistributedError(f"no worker able to grade this batch for "
                                               f"{self.wait_for_workers:g} s; what is written stays written")
        finally:
            client.unsubscribe_topic(TOPIC)
            if pending:
                client.cancel(list(pending))

    def _handle(self, f, entry, submit, settle, refusers, started) -> None:
        started.pop(f.key, None)
        sub = entry[0]
        if f.status == "finished":
            try:
                reply = json.loads(f.result())
            except Exception:  # noqa: BLE001  (not JSON text, or not decodable without pickle)
                reply = None
            kind = next((k for k in ("result", "refused", "error") if k in reply), None) \
                if isinstance(reply, dict) else None
            if kind == "result" and _is_record(reply["result"], sub.student, entry[1]):
                settle(entry, reply["result"])
            elif kind == "refused":
                refusers[str(reply.get("worker"))] = str(reply["refused"])
                self.note(f"worker {reply.get('worker')} refused {sub.student}: {reply['refused']}")
                entry[3] += 1
                if entry[3] > MAX_TRIES:
                    settle(entry, f"refused by {entry[3]} workers; the last: {reply['refused']}")
                else:
                    submit(entry)
            elif kind == "error":
                settle(entry, str(reply["error"]))
            else:
                settle(entry, "a worker sent back something that is not this submission's result")
        elif f.status == "error":
            try:
                exc = f.exception()
                why = f"{type(exc).__name__}: {exc}"
            except Exception as err:  # noqa: BLE001  (an error this client will not unpickle)
                why = f"an error the client does not decode: {err}"
            settle(entry, f"the cluster lost this task ({why})")
        else:  # cancelled or lost by the cluster: grade it again
            entry[3] += 1
            if entry[3] > MAX_TRIES:
                settle(entry, f"the cluster lost this task {entry[3]} times")
            else:
                submit(entry)

    def _enforce(self, limit, pending, started, settle) -> None:
        """A worker that holds a task past the limit is hung: it is restarted (by its nanny; one
        without a nanny is dropped from the cluster), and its tasks go elsewhere. A student whose
        task hung twice is written as a grader fault."""
        now = time.monotonic()
        for f, entry in list(pending.items()):
            began = started.get(f.key)
            if began is None or now - began[0] <= limit:
                continue
            started.pop(f.key, None)
            entry[4] += 1
            worker = began[1]
            self.note(f"worker {worker} did not finish {entry[0].student} within {limit:g} s; restarting it")
            # In a thread: a restart waits for the worker to come back; the batch goes on meanwhile.
            with stopping.threads_without_signals():
                threading.Thread(target=self._restart, args=(worker,), daemon=True).start()
            if entry[4] >= 2:
                pending.pop(f)
                self.client.cancel([f])
                settle(entry, f"no worker finished grading it within {limit:g} s (twice)")

    def _restart(self, worker: str) -> None:
        with contextlib.suppress(Exception):  # a client closing under it: nothing left to do
            self.client.restart_workers([worker], timeout=120, raise_for_error=False)

    def _able(self, resources: dict, refusers: dict) -> int:
        """How many workers could take this batch's tasks now."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return sum(1 for addr, w in info.items() if addr not in refusers
                   and all(w.get("resources", {}).get(k, 0) >= v for k, v in resources.items()))


def _is_record(record, student: str, key: str) -> bool:
    """Whether a worker's reply is the lossless record of this very submission."""
    try:
        r = results.from_record(record)
    except Exception:  # noqa: BLE001  (any malformed record is the same: not a result)
        return False
    return r.student == student and r.key == key


def connect(scheduler: str, *, workers: int = 2, course: Path | None = None, task_timeout: float | None = None,
            on_note: Callable[[str], None] | None = None) -> DaskBackend:
    """A backend on ``scheduler`` (connected when there is something to grade), for ``with``."""
    check(scheduler)
    return DaskBackend(scheduler=scheduler, workers=workers, course=course, task_timeout=task_timeout,
                       on_note=on_note)
