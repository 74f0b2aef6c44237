"""Length-prefixed frames over a socket, with deadlines on the judge's side."""

from __future__ import annotations

import select
import socket
import struct
import time

from .wire import MAX_MESSAGE

_LEN = struct.Struct("<Q")


class ChannelClosed(ConnectionError):
    """The other side is gone (or sent something that is not a frame)."""


class Deadline(TimeoutError):
    """No complete frame before the deadline."""


def send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(_LEN.pack(len(payload)) + payload)


def _recv_exact(sock: socket.socket, n: int, deadline: float | None, poll=None) -> bytes:
    chunks, got = [], 0
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
            chunk = sock.recv(min(n - got, 1 << 20))
        except (ConnectionResetError, OSError) as exc:
            raise ChannelClosed(str(exc)) from None
        if not chunk:
            raise ChannelClosed("connection closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket, deadline: float | None = None, poll=None) -> bytes:
    """Read one frame. ``deadline`` is a ``time.monotonic()`` value; ``poll`` runs while waiting."""
    (n,) = _LEN.unpack(_recv_exact(sock, _LEN.size, deadline, poll))
    if n > MAX_MESSAGE:
        raise ChannelClosed(f"frame of {n} bytes is larger than allowed")
    return _recv_exact(sock, n, deadline, poll)
