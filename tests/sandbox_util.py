"""Shared by the sandbox and hostile-submission tests: is strict isolation here, and which
processes does a sandbox uid still own."""

import os

import pytest

from leedl_grader.sandbox import modes as sandbox
from leedl_grader.sandbox import policy


def require_strict() -> None:
    """Skip where strict isolation cannot run; in CI (``$CI`` set) that is a failure instead."""
    ok, why = sandbox.strict_available()
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the strict sandbox, and it is not available: {why}")
        pytest.skip(f"strict isolation unavailable: {why}")


def sandbox_processes(uids=None) -> list[tuple[int, int]]:
    """``(pid, uid)`` of every live process whose real uid is a sandbox uid (or in ``uids``)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
        except (OSError, StopIteration, ValueError):
            continue
        if (uids is not None and uid in uids) or (uids is None and policy.UID_BASE <= uid < policy.UID_END):
            found.append((int(entry), uid))
    return found


def descends_from(pid: int, ancestor: int) -> bool:
    """Whether ``ancestor`` is ``pid``'s parent, grandparent... (per /proc)."""
    seen = 0
    while pid > 1 and seen < 64:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                pid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid == ancestor:
            return True
        seen += 1
    return False


def subreaper(on: bool) -> None:
    """Make this process the reaper of its orphaned descendants, so that a process that escaped
    a sandbox (detached, new session) still counts as ours and other graders on the machine do
    not."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(36, 1 if on else 0, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def require_nbgrader() -> None:
    """Skip without nbgrader (the ``nbgrader`` extra); in CI, which installs it, that is a failure."""
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must run the nbgrader tests: install the nbgrader extra (see .ci/run)")
        pytest.skip("nbgrader is not installed (pip install 'leedl[nbgrader]')", allow_module_level=True)
