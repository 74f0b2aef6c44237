"""Length-prefixed frames over a socket, with deadlines on the judge's side."""

from __future__ import annotations

import select
import socket
import struct
import time

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
