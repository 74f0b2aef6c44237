"""The judge's handle on the zygote: the clean process, started (or forked from the judge) before
anything secret is loaded, that student processes are forked from (:mod:`.zygote` is its side).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .. import codec
from .protocol import send_frame

_BOOT = (
    "import sys; p = sys.argv[2]; sys.path.insert(0, p); import leedl_grader.sandbox.zygote as z; "
    "sys.path.remove(p); "
    "import os; sys.path[:] = [q for q in sys.path if not os.path.isdir(os.path.join(q, 'solutions'))]; "
    "z.main(int(sys.argv[1]))"
)
ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES", "OPENBLAS_CORETYPE",
             "OPENBLAS_L2_SIZE", "SYSTEMROOT", "TMPDIR")


class ZygoteProcess:
    """One per judge process; started lazily, before the judge loads anything secret."""

    def __init__(self, workdir: Path, chapter_root: Path | None = None):
        self.workdir = Path(workdir)
        self.chapter_root = chapter_root  # the zygote imports the chapter's own drivers from there
        self.proc: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.owns_workdir = False  # a preforked zygote's own folder, removed on close

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        ours, theirs = socket.socketpair()
        env = {k: v for k, v in os.environ.items() if k in ENV_KEEP}
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1", HOME=str(self.workdir))
        leedl_parent = str(Path(__file__).resolve().parents[2])
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT, str(theirs.fileno()), leedl_parent,
             *([str(Path(self.chapter_root).resolve())] if self.chapter_root else [])],
            pass_fds=[theirs.fileno()],
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.control = ours

    def fork(self) -> bool:
        """Become the zygote by forking this process (torch is imported once, here, for both
        sides); only where :func:`forkable` says that nothing of the course's secrets is loaded
        yet. Returns whether it forked."""
        if not forkable():
            return False
        ours, theirs = socket.socketpair()
        self.workdir.mkdir(parents=True, exist_ok=True)
        pid = os.fork()
        if pid == 0:  # the zygote: as the fresh interpreter of start() would be
            try:
                ours.close()
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.chdir(self.workdir)
                env = {k: v for k, v in os.environ.items() if k in ENV_KEEP}
                env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1",
                           HOME=str(self.workdir))
                os.environ.clear()
                os.environ.update(env)
                sys.path[:] = [q for q in sys.path if not os.path.isdir(os.path.join(q or ".", "solutions"))]
                sys.argv = ["zygote", str(theirs.fileno()), "",
                            *([str(Path(self.chapter_root).resolve())] if self.chapter_root else [])]
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                # The standard streams as a fresh interpreter has them (the caller's may be replaced
                # objects, a test runner's capture): a student's print must reach fd 1, its log.
                sys.stdin = open(0, closefd=False)  # noqa: SIM115
                sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
                from . import zygote

                zygote.main(theirs.fileno(), compiler_stack=False)  # one self-check
            finally:
                os._exit(71)
        theirs.close()
        self.control = ours
        self.proc = _ForkedZygote(pid)
        return True

    def spawn(self, request: dict) -> tuple[socket.socket, int, int]:
        """Ask for a worker; returns (channel, status_fd, monitor_pid)."""
        self.start()
        send_frame(self.control, codec.encode(request))
        msg, fds, _, _ = socket.recv_fds(self.control, 64, 2)
        if len(fds) != 2:
            raise RuntimeError("the zygote did not answer with a worker")
        return socket.socket(fileno=fds[0]), fds[1], int(msg.decode())

    def close(self) -> None:
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.owns_workdir:
            import shutil

            shutil.rmtree(self.workdir, ignore_errors=True)


def forkable() -> bool:
    """Whether this process may fork into a zygote: Linux, one thread, and no reference, hidden
    check or other secret of the course imported (a student's process must never hold them, not
    even in memory it cannot reach)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork") or os.environ.get("LEEDL_ZYGOTE") == "exec":
        return False
    import threading

    if threading.active_count() != 1:
        return False
    for name, mod in list(sys.modules.items()):
        parts = Path(getattr(mod, "__file__", None) or "").parts
        if name.startswith("_leedl_reference") or "solutions" in parts or "hidden" in parts:
            return False
    return True


_PREFORKED: dict[str, ZygoteProcess] = {}
forked = 0  # zygotes this process became by forking (the rest started as fresh interpreters)


def prefork(chapter_root: Path | None) -> None:
    """Fork this process into the zygote of the judge about to load ``chapter_root``'s checks, now,
    while nothing secret is loaded; the judge takes it with :func:`take_preforked`."""
    import tempfile

    key = str(Path(chapter_root).resolve()) if chapter_root else ""
    if key in _PREFORKED:
        return
    global forked
    z = ZygoteProcess(Path(tempfile.mkdtemp(prefix="leedl-zygote-")), chapter_root)
    z.owns_workdir = True
    if z.fork():
        forked += 1
        _PREFORKED[key] = z
    else:
        z.close()


def take_preforked(chapter_root: Path | None) -> ZygoteProcess | None:
    return _PREFORKED.pop(str(Path(chapter_root).resolve()) if chapter_root else "", None)


class _ForkedZygote:
    """What :class:`subprocess.Popen` offers, for a zygote forked from this process."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = 0
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired("zygote", timeout)
            time.sleep(0.01)
        return self.returncode

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
