"""Grade a batch on a Dask cluster: one task per (student, device), judged on the workers.

The client (``leedl grade --scheduler``) decides what to grade and writes every result, exactly
as with the local pool (:mod:`batch`): same files, same resume and skip rules, same seed. A task
carries the submission's bytes (never a path) and the course's fingerprint; a worker grades it
against its own copy of the course, in leedl's sandbox, with one judge per worker process that
later tasks reuse, and refuses a task for another version of the course or of leedl. A result
comes back as JSON text of its lossless record, which the client parses as data (never unpickles).

Faults. A worker that dies mid-task: Dask runs the task again elsewhere and the client writes
each student once. A worker that holds a task past its time limit: the client has it restarted
(or dropped, without a nanny), and its tasks run elsewhere. No worker able to grade for a while:
the batch stops with a message. The client killed: the scheduler forgets its tasks, and a rerun
resumes from the files already written.

Security: a Dask worker runs whatever it is sent (as root, for the strict sandbox), so a
scheduler off this machine is reached over TLS only, configured through Dask's own settings.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import multiprocessing.util
import os
import queue
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

from . import __version__, batch, results, sandbox
from . import course as courses
from .model import Outcome
from .runner import IMPORT_TIMEOUT, Judge, JudgeOptions
from .submissions import MAX_UNPACKED, Submission, SubmissionError, chapter_folder

TOPIC = "leedl-task-start"  # a worker's event when it starts a task (for the client's time limits)
LINK_TARGET = "/nonexistent/leedl-link"  # what a packed symbolic link points to on the worker
# What the client decodes from the cluster: replies are bytes (JSON text), never a pickle.
SAFE = ("dask", "msgpack")
MAX_TRIES = 5  # refusals (or losses) of one student's task before it is written as a grader fault
TIMEOUT_SLACK = 60.0  # seconds on top of the longest a healthy judge can take over one student


class DistributedError(Exception):
    """A user-facing problem with the cluster (address, TLS, no worker able to grade)."""


class TaskError(Exception):
    """One student's task failed on the cluster (not the student's doing): a grader fault."""


# --- the scheduler's address ----------------------------------------------------------------
def check(scheduler: str) -> None:
    """Refuse, before anything is written, what :func:`connect` would refuse."""
    _require_dask()
    if scheduler != "local":
        security_for(scheduler)


def _require_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise DistributedError("--scheduler needs Dask: pip install 'leedl[dask]'") from None


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def security_for(address: str):
    """Dask's ``Security`` for ``address``; refuses plain TCP to anything but this machine."""
    from distributed import Security
    from distributed.comm import parse_address, parse_host_port

    scheme, rest = parse_address(address)
    try:
        host, _ = parse_host_port(rest, default_port=8786)
    except (ValueError, TypeError):
        raise DistributedError(f"{address!r} is not a scheduler address (e.g. tls://host:8786)") from None
    if scheme not in ("tcp", "tls"):
        raise DistributedError(f"{address!r}: leedl reaches a scheduler over tls:// (or tcp:// on this machine)")
    if scheme == "tcp":
        if not _loopback(host):
            raise DistributedError(
                f"refusing plain tcp:// to {host}: a Dask worker runs whatever it is sent, so a scheduler "
                f"off this machine must be reached over tls:// with certificates (Dask's "
                f"distributed.comm.tls settings; see the README)")
        return Security()
    security = Security(require_encryption=True)
    missing = [name for name, value in (("ca-file", security.tls_ca_file), ("client.cert", security.tls_client_cert))
               if not value]
    if missing:
        raise DistributedError(
            "tls:// needs Dask's TLS settings, missing here: "
            + ", ".join(f"distributed.comm.tls.{m}" for m in missing)
            + " (in ~/.config/dask/*.yaml or DASK_DISTRIBUTED__COMM__TLS__* variables; see the README)")
    return security


# --- on each worker: one judge per process, reused -----------------------------------------
_LOCK = threading.Lock()  # a worker with several threads still runs one judge at a time
_JUDGE: dict = {}  # {"want": (suite, options), "judge": Judge, "fingerprint": str}
_LOADED: dict[str, str] = {}  # chapter -> fingerprint of the course modules this process imported
_STRICT: list = []  # [(ok, why)] once probed


def _strict() -> tuple[bool, str]:
    if not _STRICT:
        _STRICT.append(sandbox.strict_available())
    return _STRICT[0]


def worker_courses() -> list[Path]:
    """The courses this worker grades for: ``$LEEDL_COURSES`` (paths joined by ``os.pathsep``),
    else the one :func:`course.find_course` finds (``$LEEDL_COURSE``, else the working folder)."""
    many = os.environ.get("LEEDL_COURSES")
    if many:
        return [Path(p).resolve() for p in many.split(os.pathsep) if p]
    root = courses.find_course()
    return [root] if root is not None else []


def refusal(job: dict) -> tuple[batch.Suite | None, str]:
    """(this worker's suite for ``job``, "") when it may grade it, else (None, why not)."""
    if job["version"] != __version__:
        return None, f"this worker runs leedl {__version__}, the client {job['version']}"
    roots = [r for r in worker_courses() if (r / "assignments" / job["chapter"] / "chapter.toml").is_file()]
    if not roots:
        return None, f"no course with {job['chapter']} here (start the worker with LEEDL_COURSE=<course root>)"
    for root in roots:
        suite = batch.Suite(course=str(root), chapter=job["chapter"], kinds=tuple(job["kinds"]))
        fingerprint = suite.fingerprint()
        if fingerprint == job["fingerprint"]:
            break
    else:
        return None, (f"this worker's copy of {job['chapter']} at {roots[0]} is another version "
                      f"({fingerprint[:12]}, the client's {job['fingerprint'][:12]}); copy the course over")
    if _LOADED.get(job["chapter"], fingerprint) != fingerprint:
        return None, "this worker process loaded another version of the course; restart the worker"
    if job["options"].mode == sandbox.STRICT:
        ok, why = _strict()
        if not ok:
            return None, f"strict isolation is not available on this worker ({why})"
    return suite, ""


def _judge(suite: batch.Suite, options: JudgeOptions, fingerprint: str) -> Judge:
    want = (suite, options)
    if _JUDGE.get("want") != want:
        old = _JUDGE.pop("judge", None)
        if old is not None:
            old.close()
        chapter, checks, reference, data = suite.load()
        _LOADED[suite.chapter] = fingerprint
        judge = Judge(chapter, checks, options, reference=reference, data=data)
        judge.start()
        # A worker process ends through multiprocessing's exit path: close the zygote there.
        multiprocessing.util.Finalize(judge, judge.close, exitpriority=10)
        _JUDGE.update(want=want, judge=judge)
    return _JUDGE["judge"]


def unpack(payload: dict, dest: Path) -> Path:
    """Write a packed submission under ``dest``; returns what :func:`batch.grade_source` takes."""
    if "zip" in payload:
        path = dest / "submission.zip"
        path.write_bytes(payload["zip"])
        return path
    folder = dest / "submission"
    folder.mkdir()
    for name, data in payload["files"].items():
        if not _plain_name(name):
            raise SubmissionError(f"a packed file is named {name!r}")
        (folder / name).write_bytes(data)
    for name in payload["links"]:
        if _plain_name(name):
            os.symlink(LINK_TARGET, folder / name)  # the judge notes links and never follows them
    return folder


def _plain_name(name: str) -> bool:
    return bool(name) and name == os.path.basename(name) and name not in (".", "..")


def _reply(**kind) -> bytes:
    return json.dumps(kind, ensure_ascii=False).encode()


def _announce() -> str:
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return "here"
    worker.log_event(TOPIC, {"key": str(worker.get_current_task()), "worker": worker.address})
    return worker.address


def grade_task(payload: dict, job: dict) -> bytes:
    """The task a worker runs: grade one submission; a JSON reply, never an exception."""
    where = "here"
    try:
        where = _announce()
        with _LOCK:
            suite, why = refusal(job)
            if suite is None:
                return _reply(refused=why, worker=where)
            judge = _judge(suite, job["options"], job["fingerprint"])
            with tempfile.TemporaryDirectory(prefix="leedl-task-") as tmp:
                src = unpack(payload, Path(tmp))
                data = batch.grade_source(judge, src, job["student"], job["seed"], job["key"])
        return _reply(result=data)
    except Exception as exc:  # the judge failed: the client writes this student as a grader fault
        return _reply(error=f"{type(exc).__name__}: {exc} (on worker {where})")


def probe(job: dict) -> str:
    """Run on every worker before a batch: "" when it can grade ``job``, else why not."""
    with _LOCK:
        return refusal(job)[1]


# --- on the client ---------------------------------------------------------------------------
def pack(sub: Submission, chapter) -> dict:
    """A submission as bytes: a zip as handed in (unpacked on the worker as the local pool
    does), or a folder's top-level ``.py`` files (what the judge reads), links named as links."""
    if sub.path.is_file():
        if sub.path.stat().st_size > MAX_UNPACKED:
            raise SubmissionError(f"{sub.path.name} is larger than {MAX_UNPACKED >> 20} MiB")
        return {"zip": sub.path.read_bytes()}
    folder = chapter_folder(sub.path, chapter.name, chapter.files)
    files, links, total = {}, [], 0
    for p in sorted(folder.iterdir()):
        if not p.name.endswith(".py"):
            continue
        if p.is_symlink():
            links.append(p.name)
        elif p.is_file():
            total += p.stat().st_size
            if total > MAX_UNPACKED:
                raise SubmissionError(f"the .py files of {sub.path.name} hold more than {MAX_UNPACKED >> 20} MiB")
            fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as f:
                files[p.name] = f.read()
    return {"files": files, "links": links}


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

    def __enter__(self) -> DaskBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()

    @property
    def client(self):
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self):
        _require_dask()
        from distributed import Client, LocalCluster

        if self.scheduler == "local":
            env = {"LEEDL_COURSE": str(self.course)} if self.course is not None else {}
            cluster = self._stack.enter_context(LocalCluster(
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
            f = client.submit(grade_task, entry[2], {**job, "student": sub.student, "key": entry[1]}, key=name,
                              pure=False, resources=resources or None, workers=allowed(),
                              allow_other_workers=False)
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
