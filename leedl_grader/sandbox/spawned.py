"""Student processes without fork: one fresh interpreter per worker (macOS, Windows).

Where the platform has no ``fork`` (Windows), or forking a process that imported torch is unsafe
(macOS), or ``LEEDL_WORKER=spawn`` asks for it, each worker is a new ``python -I`` started with
``subprocess``: no zygote, no namespaces, no separate uid, rlimits only where the platform has
them. It is the ``process`` sandbox (a separate process, not a safe one): fine for a student's
own ``leedl check``; ``leedl grade`` refuses it without ``--insecure``.

The channel is a loopback TCP connection the judge listens for, opened by the child with a
secret token (any other local process that connects is refused). Wall-time limits hold as
everywhere (a deadline on the channel, then a kill); CPU time is read from ``/proc`` where it
exists; stdout and stderr go to the worker's log, read by :mod:`leedl_grader.printed`.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from .policy import Limits
from .processes import Worker, WorkerLost, cpu_seconds, stack_dump_line
from .zygote_handle import ENV_KEEP

CONNECT_TIMEOUT = 60.0  # seconds for a fresh interpreter to import torch and call back

_BOOT = (
    "import sys; p = sys.argv[1]; sys.path.insert(0, p); import leedl_grader.sandbox.spawned as s; "
    "sys.path.remove(p); s.child(sys.argv[2])"
)


def wanted() -> bool:
    """Whether workers are spawned here rather than forked from a zygote."""
    if os.environ.get("LEEDL_WORKER") == "spawn":
        return True
    return not hasattr(os, "fork") or sys.platform in ("win32", "darwin")


class SpawnedWorker(Worker):
    """A :class:`~leedl_grader.workers.Worker` that is a subprocess of the judge (no zygote)."""

    def __init__(self, *, src: str, package: str, files: list[str], mode: str, limits: Limits, scratch: Path,
                 uid: int, forbidden_ops: dict | None = None, group=None, chapter_root=None, **_):
        scratch = Path(scratch)
        scratch.mkdir(parents=True, exist_ok=True)
        self.log = scratch / "output.log"
        self.where_log = scratch / "where.log"
        self.package, self.mode, self.uid, self.limits, self.group = package, mode, uid, limits, None
        self._oom0 = 0
        self.exit_status: int | None = None
        self.exit_cpu = 0.0
        self.pidfd = None
        token = secrets.token_hex(16)
        listener = socket.create_server(("127.0.0.1", 0))
        spec = {"src": os.path.abspath(src), "package": package, "files": files, "limits": asdict(limits),
                "scratch": str(scratch), "where": str(self.where_log), "token": token,
                "port": listener.getsockname()[1], "chapter_root": str(chapter_root) if chapter_root else "",
                "forbidden_ops": {k: list(v) for k, v in (forbidden_ops or {}).items() if v}}
        (scratch / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k in ENV_KEEP}
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1", HOME=str(scratch))
        leedl_parent = str(Path(__file__).resolve().parents[2])  # the folder that holds leedl_grader/
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOT, leedl_parent, str(scratch / "spec.json")],
                cwd=scratch, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=os.name == "posix")
        self.pid = self.proc.pid
        try:
            self.chan = self._accept(listener, token)
        except BaseException:
            self.kill()
            self.wait()
            raise
        finally:
            listener.close()

    def _accept(self, listener: socket.socket, token: str) -> socket.socket:
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                tail = self.log_tail(600).strip()
                raise WorkerLost("crashed", "the student's process could not start"
                                 + (f"; it printed:\n{tail}" if tail else ""))
            listener.settimeout(min(left, 0.5))
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5.0)
            try:
                got = conn.recv(len(token))
            except OSError:
                got = b""
            if hmac.compare_digest(got, token.encode()):
                conn.settimeout(None)
                return conn
            conn.close()  # not our child

    def cpu(self) -> float:
        return cpu_seconds(self.pid) if os.path.isdir("/proc") else 0.0

    def cpu_precise(self) -> float:
        return self.cpu()

    def out_of_memory(self) -> bool:
        return False

    def stopped_at(self, wait: float = 0.5) -> str:
        if self.exit_status is not None or not hasattr(signal, "SIGUSR1"):
            return ""
        return stack_dump_line(self.where_log, self.package, lambda: os.kill(self.pid, signal.SIGUSR1), wait)

    def kill(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            if os.name == "posix":
                os.killpg(self.pid, signal.SIGKILL)  # its own session: whatever it started goes too
            else:
                self.proc.kill()
        except (ProcessLookupError, PermissionError, OSError):
            pass

    def wait(self, timeout: float = 10.0) -> int | None:
        if self.exit_status is None:
            try:
                code = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return None
            self.exit_cpu = self.cpu()
            # As a wait status, which Worker._death reads: a signal number, or the exit code << 8.
            self.exit_status = -code if code < 0 else (code & 0xFF) << 8
        return self.exit_status

    def _death(self, why: str) -> WorkerLost:
        status = self.wait(timeout=1.0)
        if status is None:
            self.kill()
            self.wait()
            return WorkerLost("crashed", f"the student's process stopped answering ({why})")
        if status & 0xFF:
            return WorkerLost("crashed", f"the process died from signal {status & 0x7F}")
        return WorkerLost("crashed", f"the process exited with code {status >> 8} while running "
                                     "(sys.exit / os._exit?)")

    def close(self) -> None:
        try:
            from ..codec import encode
            from .protocol import send_frame

            send_frame(self.chan, encode("exit"))
        except OSError:
            pass
        if self.wait(timeout=2.0) is None:
            self.kill()
            self.wait(timeout=60.0)
        self.chan.close()
        if self.exit_status is None:
            raise WorkerLost("crashed", "the student's process did not end")


def child(spec_path: str) -> None:
    """The student's process: copy the files, set what limits the platform has, call back, serve."""
    from ..drivers import load_all
    from . import modes as sandbox
    from . import policy
    from . import student as worker

    load_all()
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    if spec.get("chapter_root"):  # the chapter's own drivers (public/drivers.py), as the zygote loads them
        from ..course.chapters import load_chapter, load_drivers

        load_drivers(load_chapter(Path(spec["chapter_root"])))
    os.remove(spec_path)  # the token is for this process only
    scratch = spec["scratch"]
    pkg_root = os.path.join(scratch, "submission")
    sandbox.copy_submission(spec["src"], os.path.join(pkg_root, spec["package"]), spec["files"])
    os.makedirs(os.path.join(scratch, "tmp"), exist_ok=True)
    os.chdir(os.path.join(scratch, "tmp"))
    sandbox.die_with_parent()
    policy.apply_limits(Limits(**spec["limits"]))
    if spec.get("forbidden_ops"):  # pay the tracer's lazy start-up before calling back, not in a check
        import torch

        from ..drivers import OpTracer

        x = torch.ones(3, dtype=torch.float64, requires_grad=True)
        with OpTracer(("aten::neg",)):
            torch.autograd.grad(torch.nn.functional.softplus(x * 2).sum(), x)
    where_fd = os.open(spec["where"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    sock = socket.create_connection(("127.0.0.1", spec["port"]))
    sock.sendall(spec["token"].encode())
    sys.dont_write_bytecode = True
    worker.serve(sock, spec["package"], pkg_root, spec.get("forbidden_ops") or {}, where_fd=where_fd)
