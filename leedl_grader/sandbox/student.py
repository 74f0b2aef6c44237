"""The student's side: import the submission as a package and answer driver requests.

This module runs inside the sandboxed student process. Nothing it returns is trusted: the
judge decodes replies with :mod:`leedl_grader.codec` and compares them with values it computed
itself. A request is ``{"driver", "target", "spec"}``; the reply is ``{"ok": data}`` or
an error built by :func:`leedl_grader.sandbox.protocol.error`.

In a file with ``forbidden_ops`` (chapter.toml), the import, the call and the encoding of the
reply (a tensor subclass could compute lazily) all run under a
:class:`~leedl_grader.drivers.OpTracer`; a forbidden op anywhere in them makes the reply a
``forbidden`` error whatever the code returned. Code that could switch the tracer off
(``torch.utils._python_dispatch``, ``torch._C``, ``gc``...) is refused by the static scan.
"""

from __future__ import annotations

import faulthandler
import importlib
import os
import signal
import socket
import sys
import traceback

from .. import codec
from ..drivers import DRIVERS, OpTracer
from ..judge import explain
from . import protocol
from .protocol import ChannelClosed, recv_frame, send_frame


class _Missing(Exception):
    pass


def _where(exc: BaseException, package_dir: str) -> str:
    """The innermost line of the student's own files in the traceback, as ``file.py:line``."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{os.path.basename(exc.filename)}:{exc.lineno}"
    place = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(package_dir):
            place = f"{os.path.basename(frame.filename)}:{frame.lineno}"
    return place


class Submission:
    def __init__(self, package: str, package_dir: str, forbidden_ops: dict | None = None):
        self.package = package
        self.package_dir = package_dir
        self.modules: dict[str, object] = {}
        self.forbidden_ops = {k: tuple(v) for k, v in (forbidden_ops or {}).items() if v}

    def resolve(self, target: str):
        """``FILE.NAME`` -> the object in the student's module (imported on first use)."""
        file, _, name = target.partition(".")
        if file not in self.modules:
            path = os.path.join(self.package_dir, file + ".py")
            if not os.path.isfile(path):
                raise _Missing(f"{file}.py is missing from the submission")
            self.modules[file] = importlib.import_module(f"{self.package}.{file}")
        obj = self.modules[file]
        for part in name.split(".") if name else ():
            if not hasattr(obj, part):
                raise _Missing(f"{file}.py defines no {name!r}")
            obj = getattr(obj, part)
        return obj


def _error(exc: BaseException, package_dir: str) -> dict:
    """The error reply for an exception the student's code raised (or that resolving it raised)."""
    where = _where(exc, package_dir)
    kind = type(exc).__name__
    if isinstance(exc, _Missing):
        return protocol.error("Missing", str(exc), "missing")
    if isinstance(exc, NotImplementedError):
        outcome = "missing"
    elif isinstance(exc, MemoryError) or "can't allocate memory" in str(exc) or "out of memory" in str(exc):
        outcome = "memory"
    else:
        outcome = "error"
    if isinstance(exc, SystemExit):
        message = f"called sys.exit({exc.code!r})"
    else:
        message = str(exc)
    if isinstance(exc, SyntaxError):
        message = f"{exc.msg} ({os.path.basename(exc.filename or '')}, line {exc.lineno})"
    try:  # the traceback, limited to the student's own files
        trace = explain.own_frames(traceback.extract_tb(exc.__traceback__), package_dir)
    except Exception:  # noqa: BLE001 - a frame whose source cannot be read
        trace = []
    return protocol.error(kind, message, outcome, where, trace)


def handle(sub: Submission, request) -> dict:
    try:
        if not isinstance(request, dict) or request.get("driver") not in DRIVERS:
            raise ValueError("bad request")
        fn = DRIVERS[request["driver"]]
        target = sub.resolve(request["target"]) if request.get("target") else None
        result = fn(target, **(request.get("spec") or {}))
        return {"ok": result}
    except BaseException as exc:  # noqa: B036 - the student may raise anything, SystemExit included
        return _error(exc, sub.package_dir)


def _encode(reply: dict) -> bytes:
    try:
        return codec.encode(reply)
    except BaseException as exc:  # noqa: B036
        return codec.encode(protocol.error("WireError", f"returned a value that cannot be graded: {exc}"))


def reply(sub: Submission, request) -> bytes:
    """The encoded reply to one request, traced where the target's file forbids ops."""
    target = request.get("target") if isinstance(request, dict) else None
    ops = sub.forbidden_ops.get(str(target).partition(".")[0]) if target else None
    if not ops:
        return _encode(handle(sub, request))
    tracer = OpTracer(ops, sub.package_dir)
    try:
        with tracer:
            payload = _encode(handle(sub, request))
    except BaseException as exc:  # noqa: B036 - the student's code left the mode stack broken
        payload = _encode(_error(exc, sub.package_dir))
    if tracer.hits:
        op, where = tracer.hits[0]
        at = f" at {where}" if where else ""
        payload = _encode(protocol.error(
            "ForbiddenOp", f"forbidden: the code ran {op}{at}, which this file's exercises must not use",
            "forbidden", where))
    return payload


def _flush() -> None:
    """What the code printed without a newline reaches the log before the judge reads it."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: B036 - the student's replacement of sys.stdout may do anything
            pass


def serve(sock: socket.socket, package: str, root: str, forbidden_ops: dict | None = None,
          where_fd: int = -1) -> None:
    """Answer requests until the judge closes the channel. Never returns normally.

    ``where_fd``: where Python's stack goes when the judge, about to stop the process for time,
    sends SIGUSR1 (faulthandler writes it from its C handler, even in a tight loop)."""
    sys.path.insert(0, root)
    if where_fd >= 0 and hasattr(faulthandler, "register"):
        faulthandler.register(signal.SIGUSR1, file=where_fd, all_threads=True)
    for stream in (sys.stdout, sys.stderr):  # prints reach the log as they happen (printed.py reads it)
        try:
            stream.reconfigure(line_buffering=True, write_through=True)
        except (AttributeError, ValueError, OSError):
            pass
    sub = Submission(package, os.path.join(root, package), forbidden_ops)
    while True:
        try:
            request = codec.decode(recv_frame(sock))
        except (ChannelClosed, codec.WireError):
            os._exit(0)
        if request == "exit":
            os._exit(0)
        payload = reply(sub, request)
        _flush()
        try:
            send_frame(sock, payload)
        except OSError:
            os._exit(0)
