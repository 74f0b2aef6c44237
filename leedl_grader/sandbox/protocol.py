"""What crosses the boundary between the judge and the student's process: length-prefixed frames
over a socket (with deadlines on the judge's side) holding plain data (:mod:`leedl_grader.codec`),
and the requests and replies those frames carry."""

from __future__ import annotations

import select
import socket
import struct
import time
from dataclasses import dataclass

from ..codec import MAX_MESSAGE, WireError

_LEN = struct.Struct("<Q")


class ChannelClosed(ConnectionError):
    """The other side is gone (or sent something that is not a frame)."""


class Deadline(TimeoutError):
    """No complete frame before the deadline."""


def send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(_LEN.pack(len(payload)) + payload)


def _recv_exact(sock: socket.socket, n: int, deadline: float | None, poll=None) -> bytearray:
    """``n`` bytes, received in place (one buffer, never a second copy of a large frame)."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        if deadline is not None:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Deadline()
                ready, _, _ = select.select([sock], [], [], min(left, 0.05))
                if ready:
                    break
                if poll is not None:
                    poll()  # may raise (CPU limit, process gone)
        try:
            k = sock.recv_into(view[got:], min(n - got, 1 << 20))
        except (ConnectionResetError, OSError) as exc:
            raise ChannelClosed(str(exc)) from None
        if not k:
            raise ChannelClosed("connection closed")
        got += k
    return buf


def recv_frame(sock: socket.socket, deadline: float | None = None, poll=None) -> bytearray:
    """Read one frame. ``deadline`` is a ``time.monotonic()`` value; ``poll`` runs while waiting.

    A frame announced larger than ``MAX_MESSAGE`` is refused (:class:`WireError`) from its length
    prefix alone, before anything is allocated for it."""
    (n,) = _LEN.unpack(_recv_exact(sock, _LEN.size, deadline, poll))
    if n > MAX_MESSAGE:
        raise WireError(f"a frame of {n} bytes (at most {MAX_MESSAGE} allowed)")
    return _recv_exact(sock, n, deadline, poll)


# --- messages ------------------------------------------------------------------------------------
# A request is ``{"driver", "target", "spec"}`` (or ``"exit"``); a reply is ``{"ok": data}`` or
# ``{"error": {"type", "message", "outcome", "where", "trace"}}``. The student's side builds an
# error with :func:`error`; the judge reads one only through :func:`failure`, which trusts no field.


def error(kind: str, message: str, outcome: str = "error", where: str = "", trace=()) -> dict:
    """The error reply for an exception of type ``kind`` (``outcome``: error, missing, memory,
    forbidden); ``where`` is ``file.py:line`` in the student's files, ``trace`` their frames."""
    return {"error": {"type": kind, "message": message[:2000], "outcome": outcome, "where": where,
                      "trace": [t[:300] for t in trace]}}


def is_reply(message) -> bool:
    return isinstance(message, dict) and (set(message) == {"ok"} or set(message) == {"error"})


@dataclass(frozen=True)
class Failure:
    """An error reply as the judge reads it: bounded strings, whatever the student's process sent."""

    kind: str
    message: str
    outcome: str
    where: str
    trace: tuple[str, ...]


def failure(reply: dict) -> Failure | None:
    """None for an ``ok`` reply; else its error, each field a string (the process wrote it)."""
    if "error" not in reply:
        return None
    err = reply["error"] if isinstance(reply["error"], dict) else {}
    trace = err.get("trace")
    return Failure(kind=str(err.get("type", "Exception")), message=str(err.get("message", ""))[:1000],
                   outcome=str(err.get("outcome", "error")), where=str(err.get("where") or ""),
                   trace=tuple(t[:300] for t in (trace if isinstance(trace, list) else []) if isinstance(t, str)))
