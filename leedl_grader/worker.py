"""The student's side: import the submission as a package and answer driver requests.

This module runs inside the sandboxed student process. Nothing it returns is trusted: the
judge decodes replies with :mod:`leedl_grader.wire` and compares them with values it computed
itself. A request is ``{"driver", "target", "spec"}``; the reply is ``{"ok": data}`` or
``{"error": {"type", "message", "outcome", "where"}}``.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
import traceback

from . import wire
from .channel import ChannelClosed, recv_frame, send_frame
from .drivers import DRIVERS


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
    def __init__(self, package: str, package_dir: str):
        self.package = package
        self.package_dir = package_dir
        self.modules: dict[str, object] = {}

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
    where = _where(exc, package_dir)
    kind = type(exc).__name__
    if isinstance(exc, _Missing):
        return {"type": "Missing", "message": str(exc), "outcome": "missing", "where": ""}
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
    return {"type": kind, "message": message[:2000], "outcome": outcome, "where": where}


def handle(sub: Submission, request) -> dict:
    try:
        if not isinstance(request, dict) or request.get("driver") not in DRIVERS:
            raise ValueError("bad request")
        fn = DRIVERS[request["driver"]]
        target = sub.resolve(request["target"]) if request.get("target") else None
        result = fn(target, **(request.get("spec") or {}))
        return {"ok": result}
    except BaseException as exc:  # noqa: B036 - the student may raise anything, SystemExit included
        return {"error": _error(exc, sub.package_dir)}


def serve(sock: socket.socket, package: str, root: str) -> None:
    """Answer requests until the judge closes the channel. Never returns normally."""
    sys.path.insert(0, root)
    sub = Submission(package, os.path.join(root, package))
    while True:
        try:
            request = wire.decode(recv_frame(sock))
        except (ChannelClosed, wire.WireError):
            os._exit(0)
        if request == "exit":
            os._exit(0)
        reply = handle(sub, request)
        try:
            payload = wire.encode(reply)
        except BaseException as exc:  # noqa: B036
            payload = wire.encode(
                {"error": {"type": "WireError", "outcome": "error", "where": "",
                           "message": f"returned a value that cannot be graded: {exc}"}}
            )
        try:
            send_frame(sock, payload)
        except OSError:
            os._exit(0)
