"""One Dask task of leedl: what it carries, and what a worker does with it.

A task carries a submission's bytes (:func:`pack`; never a path) and the job: chapter, kinds of
checks, the course's fingerprint, leedl's version, the judge's options, seed and key. A worker
grades it against its own copy of the course (:func:`worker_courses`) with one judge per worker
process, started by its first task and reused, and refuses a task for another version of the
course or of leedl, or one that asks for a sandbox it cannot give. It answers with JSON text: the
lossless record of the result, a refusal, or an error; never an exception, never a pickle.
"""

from __future__ import annotations

import json
import multiprocessing.util
import os
import tempfile
import threading
from pathlib import Path

from .. import __version__
from ..course import chapters as courses
from ..sandbox import modes as sandbox
from ..sandbox import policy
from . import batch
from .runner import Judge, JudgeOptions
from .submissions import MAX_UNPACKED, Submission, SubmissionError, chapter_folder

TOPIC = "leedl-task-start"  # a worker's event when it starts a task (for the client's time limits)
LINK_TARGET = "/nonexistent/leedl-link"  # what a packed symbolic link points to on the worker


_LOCK = threading.Lock()  # a worker with several threads still runs one judge at a time
_JUDGE: dict = {}  # {"want": (suite, options), "judge": Judge, "fingerprint": str}
# (course, chapter) -> fingerprint of the modules this process imported from there (they stay
# imported: a copy changed on disk since is refused, not half-served from the old modules)
_LOADED: dict[tuple[str, str], str] = {}
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
    if _LOADED.get((suite.course, suite.chapter), fingerprint) != fingerprint:
        return None, "this worker process loaded another version of the course; restart the worker"
    if job["options"].mode == policy.STRICT:
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
        _LOADED[(suite.course, suite.chapter)] = fingerprint
        judge = Judge(chapter, checks, options, reference=reference, data=data, stubs=suite.stubs(chapter))
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
                data = batch.grade_source(judge, src, job["student"], job["seed"], job["key"],
                                          tuple(str(e) for e in job.get("only", ())))
        return _reply(result=data)
    except Exception as exc:  # the judge failed: the client writes this student as a grader fault
        return _reply(error=f"{type(exc).__name__}: {exc} (on worker {where})")


def probe(job: dict) -> str:
    """Run on every worker before a batch: "" when it can grade ``job``, else why not."""
    with _LOCK:
        return refusal(job)[1]



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
