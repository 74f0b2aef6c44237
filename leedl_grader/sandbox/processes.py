"""The judge's handles on student processes: a worker per student process, its limits enforced.

Every limit is enforced from outside the student's process: wall time by a deadline on the
channel, CPU time by reading the kernel's accounting in ``/proc``, and death of any kind by
SIGKILL (which a process cannot ignore). A worker that broke a limit is killed and replaced;
the check that was running gets the outcome.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from .. import codec
from ..judge import explain
from . import protocol
from .cgroup import Group
from .policy import STRICT, Limits
from .protocol import ChannelClosed, Deadline, recv_frame, send_frame

if TYPE_CHECKING:
    from .zygote_handle import ZygoteProcess


class WorkerLost(Exception):
    """The student's process broke a limit or died. ``outcome`` is the engine's outcome name."""

    def __init__(self, outcome: str, message: str, where: str = ""):
        super().__init__(message)
        self.outcome = outcome
        self.message = message
        self.where = where  # a timeout: the line the code was at, as the student's process reported it


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its reaped children, from the kernel's accounting."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def stack_dump_line(where_log: Path, package: str, ask, wait: float) -> str:
    """Call ``ask()`` (it signals a process whose faulthandler dumps its stack into ``where_log``),
    wait up to ``wait`` seconds for the dump, and return its innermost line of the student's files
    (``file.py:12 in fn``), or "" when no dump came."""
    try:
        start = where_log.stat().st_size
    except OSError:
        start = 0
    try:
        ask()
    except OSError:  # ProcessLookupError, PermissionError: gone, or not ours any more
        return ""
    deadline, last = time.monotonic() + wait, start
    while time.monotonic() < deadline:
        time.sleep(0.02)
        try:
            size = where_log.stat().st_size
        except OSError:
            return ""
        if size > start and size == last:  # written, and no longer growing
            break
        last = size
    try:
        with open(where_log, "rb") as f:
            f.seek(start)
            dump = f.read(64 * 1024).decode(errors="replace")
    except OSError:
        return ""
    return explain.stopped_at(dump, package)


class Worker:
    """A live student process: send requests, get plain data back, or a WorkerLost."""

    def __init__(self, zygote: ZygoteProcess, *, src: str, package: str, files: list[str], mode: str,
                 limits: Limits, scratch: Path, uid: int, forbidden_ops: dict | None = None,
                 group: Group | None = None, gpu: dict | None = None):
        self.log = Path(scratch) / "output.log"
        self.where_log = Path(scratch) / "where.log"
        self.package = package
        scratch.mkdir(parents=True, exist_ok=True)
        # The submission's cgroup (memory, processes, CPU of all its processes), joined by the
        # sandbox's first process before anything else runs there.
        self.group = group
        self._oom0 = group.oom_kills() if group is not None else 0
        req = {"src": os.path.abspath(src), "package": package, "files": files, "mode": mode, "uid": uid,
               "limits": asdict(limits), "scratch": str(scratch), "log": str(self.log),
               "where": str(self.where_log),
               "forbidden_ops": {k: list(v) for k, v in (forbidden_ops or {}).items() if v},
               "cgroup": group.procs_files if group is not None else [],
               "cgroup_memory": group is not None and group.caps_memory,
               "gpu": gpu}  # the GPU's device nodes and driver libraries (leedl_grader.sandbox.gpu), or None
        self.chan, self.status_fd, self.monitor = zygote.spawn(req)
        self.status = os.fdopen(self.status_fd, "rb", buffering=0)
        self.exit_status: int | None = None
        self.mode = mode
        self.uid = uid
        self.limits = limits
        self.exit_cpu = 0.0
        self.pidfd: int | None = None
        self.pid: int | None = None
        try:
            self._read_pid()
        except BaseException:  # a stop (Ctrl-C) while the process starts: it must not outlive this
            self._abandon()
            raise
        # A handle on the process itself, so that a kill can never hit a recycled pid.
        try:
            self.pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            self.pidfd = None

    def _abandon(self) -> None:
        """End a process whose start was interrupted: it reports its pid within milliseconds."""
        if self.pid is None:
            line = self._status_line(timeout=2.0)
            if line.startswith("pid "):
                self.pid = int(line.split()[1])
        if self.pid is not None:
            self.kill()
            self.wait(timeout=2.0)
        self.chan.close()
        self.status.close()

    def _read_pid(self) -> None:
        line = self._status_line(timeout=30)
        if not line.startswith("pid "):
            raise WorkerLost("crashed", "the sandbox could not start the student's process")
        self.pid = int(line.split()[1])

    def _status_line(self, timeout: float) -> str:
        import select

        buf = b""
        deadline = time.monotonic() + timeout
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                return ""
            ready, _, _ = select.select([self.status], [], [], left)
            if not ready:
                return ""
            ch = self.status.read(1)
            if not ch:
                return ""
            buf += ch
        return buf.decode().strip()

    def cpu(self) -> float:
        """CPU seconds so far: of every process of the submission where a cgroup counts them, else
        of the sandbox's first process and the children it reaped."""
        if self.group is not None and self.group.counts_cpu:
            return self.group.cpu_seconds()
        return cpu_seconds(self.pid)

    def cpu_precise(self) -> float:
        """CPU seconds for timing: of every process of the submission where a cgroup counts them
        (nanoseconds in v1, microseconds in v2), so that work handed to a child process is counted
        as it happens; else of every thread of the process, to the nanosecond where the kernel keeps
        scheduler statistics (``/proc/PID/task/*/schedstat``), else :meth:`cpu` (10 ms ticks)."""
        if self.group is not None and self.group.counts_cpu:
            return self.group.cpu_seconds()
        total = 0
        try:
            for task in os.listdir(f"/proc/{self.pid}/task"):
                with open(f"/proc/{self.pid}/task/{task}/schedstat", "rb") as f:
                    total += int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            return self.cpu()
        return total / 1e9 if total else self.cpu()

    def _memory_or(self, lost: WorkerLost) -> WorkerLost:
        """A process of the submission killed for memory explains what followed (a hang, a wait)."""
        if self.out_of_memory():
            return WorkerLost("memory", f"the submission's processes together went over the memory limit "
                                        f"({self.limits.memory_mb} MiB, shared memory and scratch included)")
        return lost

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a process of this worker's cgroup for memory."""
        return self.group is not None and self.group.oom_kills() > self._oom0

    def request(self, message, *, deadline: float, cpu_deadline: float | None):
        def poll():
            if cpu_deadline is not None and self.cpu() > cpu_deadline:
                raise WorkerLost("timeout", "CPU time limit exceeded", self.stopped_at())

        try:
            send_frame(self.chan, codec.encode(message))
            reply = codec.decode(recv_frame(self.chan, deadline=deadline, poll=poll))
        except Deadline:
            where = self.stopped_at()
            self.kill()
            raise self._memory_or(WorkerLost("timeout", "time limit exceeded (the code did not return in time)",
                                             where)) from None
        except WorkerLost as lost:
            self.kill()
            raise self._memory_or(lost) from None
        except codec.WireError as exc:  # a reply the judge refuses to read: the student's process's doing
            self.kill()
            self.wait()
            raise WorkerLost("crashed", f"the student's process sent a reply that cannot be graded ({exc})") from None
        except (ChannelClosed, BrokenPipeError, ConnectionResetError) as exc:
            raise self._death(str(exc)) from None
        if not protocol.is_reply(reply):
            self.kill()
            raise WorkerLost("crashed", "the student's process sent something that is not a reply")
        return reply

    def _death(self, why: str) -> WorkerLost:
        status = self.wait(timeout=1.0)  # a process that died reports within milliseconds
        if status is None:  # alive, but closed its channel or sent garbage
            self.kill()
            self.wait()
            return WorkerLost("crashed", f"the student's process stopped answering ({why})")
        tail = self.log_tail(2000)
        if self.out_of_memory():
            return self._memory_or(None)
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig in (signal.SIGXCPU, signal.SIGKILL) and self.exit_cpu >= self.limits.cpu_total_s - 0.05:
                return WorkerLost("timeout", "CPU time limit exceeded (the sandbox's total)")
            if "MemoryError" in tail or "alloc" in tail or sig == signal.SIGKILL:
                return WorkerLost("memory", f"the process was killed (signal {sig}); most likely the memory limit")
            return WorkerLost("crashed", f"the process died from signal {signal.Signals(sig).name}")
        code = os.WEXITSTATUS(status)
        return WorkerLost("crashed", f"the process exited with code {code} while running (sys.exit / os._exit?)")

    def stopped_at(self, wait: float = 0.5) -> str:
        """Ask the student's process where it is (SIGUSR1: faulthandler dumps its stack) and return
        the innermost line of the student's files, ``file.py:12 in fn``, or "" (no answer in time).
        The process could forge this: it explains a timeout, never decides one."""
        if self.exit_status is not None:
            return ""

        def ask():
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGUSR1)
            else:
                os.kill(self.pid, signal.SIGUSR1)

        return stack_dump_line(self.where_log, self.package, ask, wait)

    def log_tail(self, n: int = 4000) -> str:
        try:
            with open(self.log, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - n))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the student's process; in strict mode that ends its whole PID namespace."""
        if self.exit_status is not None:
            return
        try:
            if self.mode != STRICT:
                os.killpg(self.pid, signal.SIGKILL)
            elif self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self, timeout: float = 10.0) -> int | None:
        """Wait for the monitor's report that the student's process (and namespace) is gone."""
        if self.exit_status is None:
            line = self._status_line(timeout)
            if line.startswith("exit "):
                parts = line.split()
                self.exit_status = int(parts[1])
                self.exit_cpu = float(parts[2]) if len(parts) > 2 else 0.0
        return self.exit_status

    def close(self) -> None:
        """Stop the worker; returns only once it is gone, with everything it started (strict).

        Raises WorkerLost when that cannot be confirmed: then no result may be written as if
        the submission had finished."""
        try:
            send_frame(self.chan, codec.encode("exit"))
        except OSError:
            pass
        if self.wait(timeout=2.0) is None:
            self.kill()
            self.wait(timeout=60.0)
        self.chan.close()
        self.status.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        if self.exit_status is None:
            raise WorkerLost("crashed", "the sandbox did not confirm that the student's processes ended")
