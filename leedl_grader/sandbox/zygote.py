"""A clean process that has paid for ``import torch`` once and forks one worker per request.

The judge starts it as a fresh interpreter (never a fork of the judge: the student's process
must never hold the reference or the hidden tests, not even in memory). For each request it
forks a *monitor* that stays outside the sandbox, and the monitor forks the student's process
into it (in ``strict`` mode, after entering new namespaces, so that the student's process is
PID 1 there). The monitor reports the student's pid, then its exit status, on a status pipe.

Control protocol (one socket): the judge sends a wire-encoded spawn request; the zygote
answers with two file descriptors (the student's channel and the status pipe) and the
monitor's pid.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import sys
from pathlib import Path

# Everything the student's process may need is imported here, before any fork.
import numpy  # noqa: F401
import torch

from .. import codec, lazy_compiler
from ..drivers import load_all
from . import cgroup, policy, student, uid_mode
from . import modes as sandbox
from .protocol import ChannelClosed, recv_frame

load_all()
if len(sys.argv) > 3:  # the chapter's folder: its own drivers (public/drivers.py), never hidden/
    from ..course.chapters import load_chapter, load_drivers

    load_drivers(load_chapter(Path(sys.argv[3])))
torch.set_num_threads(1)
lazy_compiler.install()


def _warm_up() -> None:
    """Pay once, here, what the first traced op costs (about a second of lazy initialisation in
    torch's Python dispatcher), instead of once per sandbox."""
    from ..drivers import OpTracer

    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    with OpTracer(("aten::neg",)):
        y = torch.nn.functional.softplus(x * 2)
        torch.autograd.grad(y.sum(), x)


_warm_up()


def _monitor(req: dict, chan: socket.socket, status_w: int) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    sandbox.die_with_parent()  # a zygote that dies takes its monitors (and so their sandboxes) along
    mode = req["mode"]
    limits = policy.Limits(**req.get("limits", {}))
    if mode == policy.UID:  # the student's orphans come back here, to be reaped once all are killed
        sandbox._c().prctl(uid_mode.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    if mode == policy.STRICT:
        sandbox.unshare(
            sandbox.CLONE_NEWPID | sandbox.CLONE_NEWNS | sandbox.CLONE_NEWNET
            | sandbox.CLONE_NEWIPC | sandbox.CLONE_NEWUTS
        )
    pid = os.fork()
    if pid == 0:
        os.close(status_w)
        try:
            _student(req, chan, limits)
        finally:
            os._exit(70)
    chan.close()
    os.write(status_w, f"pid {pid}\n".encode())
    # In strict mode ``pid`` is PID 1 of its namespace: the kernel kills every other process
    # there when it exits and reaps them before PID 1 can be reaped, so this returns only once
    # nothing the submission started is left.
    # The CPU time goes along: PID 1 of a namespace ignores the kernel's SIGXCPU, so the judge
    # tells a CPU-limit SIGKILL from the others by it.
    _, status, usage = os.wait4(pid, 0)
    if mode == policy.UID:
        # No namespace ends the rest: every process of the sandbox's uid is killed here, and the
        # end is reported only once none is left (the judge writes no result before that).
        gone = uid_mode.kill_all(req["uid"])
        uid_mode.reap()
        uid_mode.clean(req["uid"])
        if not gone:
            os.write(status_w, b"lost\n")
            os._exit(0)
    os.write(status_w, f"exit {status} {usage.ru_utime + usage.ru_stime:.3f}\n".encode())
    os._exit(0)


def _student(req: dict, chan: socket.socket, limits: policy.Limits) -> None:
    log_fd = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    # Where the code is when the judge stops it for time: Python's stack, written by faulthandler on
    # SIGUSR1 (as the student's process reports it; see explain.stopped_at).
    where_fd = os.open(req["where"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if req.get("where") else -1
    groups = req.get("cgroup") or []
    if groups:  # first of all: everything this process and its children do is counted there
        try:
            cgroup.join(groups)
        except OSError as exc:
            os.write(log_fd, f"leedl: cannot join the sandbox's cgroup ({exc})\n".encode())
            os._exit(73)  # never run without the cap the judge was told of
    capped = bool(groups) and bool(req.get("cgroup_memory"))
    if req["mode"] == policy.STRICT:
        root = sandbox.enter_strict(req["src"], req["package"], req["files"], req["uid"], limits,
                                    address_space=not capped, gpu=req.get("gpu"))
    elif req["mode"] == policy.UID:
        root = uid_mode.enter(req["src"], req["package"], req["files"], req["uid"], limits, address_space=not capped)
    else:
        root = sandbox.enter_process(req["src"], req["package"], req["files"], req["scratch"], limits,
                                     address_space=not capped)
    # stdout/stderr go to a capped log that the judge reads; the channel is a separate socket.
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    keep = {0, 1, 2, chan.fileno(), where_fd}
    for fd in _open_fds():
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a flood fails its own writes, nothing else
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.dont_write_bytecode = True
    student.serve(chan, req["package"], root, req.get("forbidden_ops") or {}, where_fd=where_fd)


def _open_fds() -> list[int]:
    try:
        return [int(x) for x in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 256))


def main(control_fd: int, compiler_stack: bool = True) -> None:
    """Serve spawn requests on ``control_fd``. ``compiler_stack``: import torch's compiler stack
    now, once, for every worker (a class's grade); without it (one self-check), only a worker whose
    code needs it pays for it (see :mod:`leedl_grader.lazy_compiler`)."""
    if compiler_stack:
        import torch._dynamo  # noqa: F401
    # Everything imported so far is shared with every forked worker, copy-on-write. A collection in
    # a worker would walk (and so write to, and copy) every one of these objects: some 10 ms of CPU
    # per process. Frozen, the collector leaves them alone; what the worker makes is still collected.
    gc.freeze()
    control = socket.socket(fileno=control_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the judge's to handle
    os.makedirs(sandbox.ROOT_PARENT, mode=0o755, exist_ok=True)
    while True:
        try:
            req = codec.decode(recv_frame(control))
        except (ChannelClosed, codec.WireError):
            os._exit(0)
        chan, chan_judge = socket.socketpair()
        status_r, status_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            control.close()
            chan_judge.close()
            os.close(status_r)
            try:
                _monitor(req, chan, status_w)
            finally:
                os._exit(71)
        chan.close()
        os.close(status_w)
        try:
            socket.send_fds(control, [f"{pid}".encode()], [chan_judge.fileno(), status_r])
        except OSError:  # the judge is gone (stopped, killed): so is the reason to exist
            os._exit(0)
        chan_judge.close()
        os.close(status_r)


if __name__ == "__main__":
    main(int(sys.argv[1]))
