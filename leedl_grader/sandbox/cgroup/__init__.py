"""One control group per submission: memory, processes and CPU of all its processes together.

An rlimit binds one process: six forked children may each hold the whole memory limit, a
``memfd`` or a tmpfs file is outside any address-space limit, and CPU used by children is counted
only once they are reaped. A cgroup counts every process the submission starts, and every page
it makes resident (anonymous memory, shared memory, ``memfd``, the scratch tmpfs, page cache).

Two implementations of one interface (:class:`~.versions.Backend`, :class:`~.group.Group`):

``v1`` — the ``memory``, ``pids``, ``cpuacct`` (and, where mounted, ``cpu``) hierarchies, as
these machines mount them; needs root.

``v2`` — the unified hierarchy, in a subtree delegated to us (as root, or, for instance, inside
``systemd-run --scope -p Delegate=yes --user ...``): the cgroup we start in must offer the
``memory`` and ``pids`` controllers and be writable by us.

Every group lives in ``<home>/leedl/`` (``<home>``: the cgroup leedl was started in, so that a
container's own limits still bind it) and is named after its owner (pid and start time of the
judge process that made it). :func:`sweep` removes the groups of owners that are gone (killing
whatever is left in them): at the start of a batch, at its end, and after a crash or a signal.
"""

from __future__ import annotations

import os
from pathlib import Path

from .group import PREFIX, V1_CONTROLLERS, CgroupError, Group, join, owner_tag, read_text, start_time, write_text
from .versions import V1, V2, Backend

__all__ = ["CgroupError", "Group", "join", "owner_tag", "Backend", "V1", "V2", "detect", "backend", "sweep",
           "JudgeGroup"]


def _owner_alive(name: str) -> bool:
    pid, _, rest = name.partition("-")
    start = rest.split("-", 1)[0]
    return pid.isdigit() and bool(start) and start_time(int(pid)) == start


def _strip_ours(path: str) -> str:
    """The cgroup leedl was started in, from a path that may end inside ``.../leedl/...``."""
    parts = [p for p in path.split("/") if p]
    while parts and parts[-1].startswith(PREFIX) or (len(parts) >= 2 and parts[-2] == PREFIX):
        parts.pop()
    return "/" + "/".join(parts)


def _mounts(mounts_file: str) -> list[tuple[str, str, set[str]]]:
    """(fstype, mount point, options) of every cgroup mount."""
    out = []
    for line in read_text(Path(mounts_file)).splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2] in ("cgroup", "cgroup2"):
            out.append((parts[2], parts[1], set(parts[3].split(","))))
    return out


def _own_paths(cgroup_file: str) -> dict[str, str]:
    """controller -> this process's cgroup path ("" key: the v2 hierarchy)."""
    out = {}
    for line in read_text(Path(cgroup_file)).splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            out[c] = path
    return out


def detect(mounts_file: str = "/proc/self/mounts", cgroup_file: str = "/proc/self/cgroup"
           ) -> tuple[Backend | None, str]:
    """The backend this machine offers, or None and why not (said in every result)."""
    mounts, own = _mounts(mounts_file), _own_paths(cgroup_file)
    v1 = {}
    for fstype, point, opts in mounts:
        if fstype != "cgroup":
            continue
        for c in V1_CONTROLLERS:
            if c in opts and c in own and c not in v1:
                v1[c] = Path(point + _strip_ours(own[c]))
    if "memory" in v1 and "pids" in v1:
        writable = all(os.access(p, os.W_OK) for p in v1.values())
        if writable:
            return V1(v1), ""
        return None, "the cgroup v1 memory and pids hierarchies are not writable (run as root)"
    for fstype, point, _ in mounts:
        if fstype == "cgroup2" and "" in own:
            backend = V2(Path(point + _strip_ours(own[""])))
            have = backend.controllers()
            if "memory" in have and "pids" in have and os.access(backend.home, os.W_OK):
                return backend, ""
    return None, ("no writable cgroup with the memory and pids controllers: on a cgroup v2 host, run "
                  "leedl inside a delegated subtree, e.g. `systemd-run --scope -p Delegate=yes leedl grade ...`")


_BACKEND: tuple[Backend | None, str] | None = None


def backend() -> tuple[Backend | None, str]:
    """This machine's backend (detected once per process; ``LEEDL_CGROUP=off`` turns it off)."""
    global _BACKEND
    if _BACKEND is None:
        if os.environ.get("LEEDL_CGROUP", "").lower() in ("off", "0", "no"):
            _BACKEND = (None, "turned off (LEEDL_CGROUP=off)")
        else:
            b, why = detect()
            if isinstance(b, V2):
                try:
                    b.prepare()
                except OSError as exc:
                    b, why = None, f"the delegated cgroup v2 subtree cannot be used ({exc})"
            _BACKEND = (b, why)
    return _BACKEND


def sweep(b: Backend | None = None, timeout: float = 10.0) -> int:
    """Remove every leedl group whose owner is gone (killing what is left in it). Returns how many."""
    b = b or backend()[0]
    if b is None:
        return 0
    removed = 0
    for g in b.groups():
        if not _owner_alive(g.name):
            removed += g.remove(timeout=timeout)
    return removed


class JudgeGroup:
    """The judge's own memory limit: the calling process moves into a group of its own (the
    zygote it starts later follows it) and back out on :meth:`leave`."""

    def __init__(self, memory_mb: int):
        self.group: Group | None = None
        self.backend, _ = backend()
        if self.backend is None:
            return
        try:
            self.group = self.backend.create("judge", memory_mb=memory_mb)
            for d in self.group.dirs.values():
                write_text(d / "cgroup.procs", str(os.getpid()))
        except OSError:
            self.leave()

    def leave(self) -> None:
        if self.group is None:
            return
        b = self.backend
        for c in self.group.dirs:
            home = b.home / f"{PREFIX}-main" if isinstance(b, V2) else Path(b.homes[c])
            try:
                write_text(home / "cgroup.procs", str(os.getpid()))
            except OSError:
                pass
        self.group.remove(timeout=2.0)
        self.group = None
