"""Stopping a grade run on SIGINT or SIGTERM, once or many times, without leaving anything behind.

The first signal interrupts the batch where it is (a :class:`Interrupted`, which is a
``KeyboardInterrupt``, raised in the main thread); from then on every further SIGINT or SIGTERM
is only counted, so that the clean-up it set going (killing the judges, their zygotes and
sandboxes, removing the cgroups) is never itself interrupted halfway. Finished results are
already on disk (each is written as it finishes), so a rerun resumes.
"""

from __future__ import annotations

import contextlib
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The run was asked to stop by ``signum``."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Stop:
    """What :func:`handled` saw: the first signal (None: none) and how many came."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + (self.signum or signal.SIGINT)


@contextlib.contextmanager
def handled():
    """Within: the first SIGINT/SIGTERM raises :class:`Interrupted`, later ones are ignored.

    Outside the main thread (where Python cannot take signals) this does nothing. A
    ``KeyboardInterrupt`` that Python raised itself counts as a stop too. After a stop, SIGINT
    and SIGTERM stay ignored when the block is left (the process is about to report and exit)."""
    stop = Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_signal(signum, frame):
        stop.count += 1
        if stop.signum is None:
            stop.signum = signum
            raise Interrupted(signum)

    previous = {s: signal.signal(s, on_signal) for s in SIGNALS}
    try:
        yield stop
    except KeyboardInterrupt as exc:
        if stop.signum is None:
            stop.signum = getattr(exc, "signum", signal.SIGINT)
            stop.count += 1
        raise
    finally:
        for s, h in previous.items():
            # After a stop the caller is on its way out: a late signal must not kill it before it
            # reports (and exits with the first signal's code).
            signal.signal(s, h if stop.signum is None else signal.SIG_IGN)


@contextlib.contextmanager
def threads_without_signals():
    """Threads started within never take SIGINT or SIGTERM (they start with both blocked), so the
    kernel hands those to the main thread. One sent to another thread would only set Python's
    flag, and a main thread blocked in a system call (waiting on a student's reply) would not
    see it until that call returned: a stopped run could wait out a hanging student's limit."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def quiet_child() -> None:
    """In a pool's judge process: Ctrl-C reaches the whole process group, but stopping is the
    parent's to do (it kills the judges); a judge that raised KeyboardInterrupt on its own would
    print a traceback and might be stopped halfway through writing to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
