"""One control group per submission: memory, processes and CPU of all its processes together.

An rlimit binds one process: six forked children may each hold the whole memory limit, a
``memfd`` or a tmpfs file is outside any address-space limit, and CPU used by children is counted
only once they are reaped. A cgroup counts every process the submission starts, and every page
it makes resident (anonymous memory, shared memory, ``memfd``, the scratch tmpfs, page cache).

Two implementations of one interface (:class:`Backend`, :class:`Group`):

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
import signal
import time
from dataclasses import dataclass
from pathlib import Path

PREFIX = "leedl"
V1_CONTROLLERS = ("memory", "pids", "cpuacct", "cpu")
_counter = [0]


class CgroupError(OSError):
    """A cgroup could not be made or used (the caller decides whether to go on without)."""


def _read(path: Path) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _start_time(pid: int) -> str:
    """The kernel's start time of ``pid`` (tells a live owner from a recycled pid)."""
    stat = _read(Path(f"/proc/{pid}/stat"))
    try:
        return stat.rsplit(")", 1)[1].split()[19]
    except IndexError:
        return ""


def owner_tag(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{pid}-{_start_time(pid)}"


def _owner_alive(name: str) -> bool:
    pid, _, rest = name.partition("-")
    start = rest.split("-", 1)[0]
    return pid.isdigit() and bool(start) and _start_time(int(pid)) == start


def _strip_ours(path: str) -> str:
    """The cgroup leedl was started in, from a path that may end inside ``.../leedl/...``."""
    parts = [p for p in path.split("/") if p]
    while parts and parts[-1].startswith(PREFIX) or (len(parts) >= 2 and parts[-2] == PREFIX):
        parts.pop()
    return "/" + "/".join(parts)


@dataclass
class Group:
    """One cgroup (one directory per v1 hierarchy, one in v2)."""

    backend: Backend
    name: str
    dirs: dict  # controller (or "unified") -> Path

    @property
    def caps_memory(self) -> bool:
        return "memory" in self.dirs or "unified" in self.dirs

    @property
    def procs_files(self) -> list[str]:
        """What a process writes ``0`` into to join the group (see :func:`join`)."""
        return sorted({str(d / "cgroup.procs") for d in self.dirs.values()})

    def pids(self) -> list[int]:
        found: set[int] = set()
        for d in self.dirs.values():
            found |= {int(x) for x in _read(d / "cgroup.procs").split() if x.isdigit()}
        return sorted(found)

    def cpu_seconds(self) -> float:
        return self.backend.cpu_seconds(self)

    def oom_kills(self) -> int:
        return self.backend.oom_kills(self)

    def memory_peak(self) -> int:
        return self.backend.memory_peak(self)

    def kill(self) -> None:
        """SIGKILL every process in the group, again until none is left (a fork may race)."""
        self.backend.kill(self)

    def remove(self, timeout: float = 10.0) -> bool:
        """Kill what is left, wait until empty, remove the directories. True when all are gone."""
        deadline = time.monotonic() + timeout
        while True:
            self.kill()
            if not self.pids() or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        ok = True
        for d in self.dirs.values():
            try:
                self.backend.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError:
                ok = False
        return ok


def join(procs_files: list[str]) -> None:
    """Move the calling process into a group (its children follow). Runs in the sandbox's first
    process, as root, before anything of the student's runs."""
    for path in procs_files:
        _write(Path(path), "0")


class Backend:
    version = ""

    def __init__(self, dirs: dict):
        self.homes = dirs  # controller -> the home cgroup's directory

    # --- layout ----------------------------------------------------------------------------
    def parents(self) -> dict:
        return {c: Path(h) / PREFIX for c, h in self.homes.items()}

    def create(self, kind: str, *, memory_mb: int | None = None, pids: int | None = None,
               cpus: float | None = None) -> Group:
        _counter[0] += 1
        name = f"{owner_tag()}-{kind}{_counter[0]}"
        dirs = {}
        try:
            for c, parent in self.parents().items():
                parent.mkdir(exist_ok=True)
                d = parent / name
                d.mkdir()
                dirs[c] = d
            group = Group(self, name, dirs)
            self.configure(group, memory_mb=memory_mb, pids=pids, cpus=cpus)
        except OSError as exc:
            Group(self, name, dirs).remove(timeout=1.0)
            raise CgroupError(exc.errno, f"cannot make a cgroup: {exc}") from None
        return group

    def groups(self) -> list[Group]:
        by_name: dict[str, dict] = {}
        for c, parent in self.parents().items():
            try:
                entries = list(parent.iterdir())
            except OSError:
                continue
            for d in entries:
                if d.is_dir():
                    by_name.setdefault(d.name, {})[c] = d
        return [Group(self, n, ds) for n, ds in sorted(by_name.items())]

    def rmdir(self, d: Path) -> None:
        os.rmdir(d)

    def kill(self, group: Group) -> None:
        for pid in group.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    # --- implemented per version ----------------------------------------------------------
    def configure(self, group: Group, *, memory_mb, pids, cpus) -> None:
        raise NotImplementedError

    def cpu_seconds(self, group: Group) -> float:
        raise NotImplementedError

    def oom_kills(self, group: Group) -> int:
        raise NotImplementedError

    def memory_peak(self, group: Group) -> int:
        raise NotImplementedError

    def controllers(self) -> tuple[str, ...]:
        return tuple(c for c in V1_CONTROLLERS if c in self.homes)


class V1(Backend):
    version = "v1"

    def configure(self, group: Group, *, memory_mb, pids, cpus) -> None:
        d = group.dirs
        if memory_mb is not None and "memory" in d:
            limit = str(memory_mb << 20)
            _write(d["memory"] / "memory.limit_in_bytes", limit)
            if (d["memory"] / "memory.memsw.limit_in_bytes").exists():  # no escape into swap
                _write(d["memory"] / "memory.memsw.limit_in_bytes", limit)
        if pids is not None and "pids" in d:
            _write(d["pids"] / "pids.max", str(pids))
        if cpus is not None and "cpu" in d:
            _write(d["cpu"] / "cpu.cfs_period_us", "100000")
            _write(d["cpu"] / "cpu.cfs_quota_us", str(max(1000, int(cpus * 100000))))

    def cpu_seconds(self, group: Group) -> float:
        d = group.dirs.get("cpuacct")
        text = _read(d / "cpuacct.usage").strip() if d else ""
        return int(text) / 1e9 if text.isdigit() else 0.0

    def oom_kills(self, group: Group) -> int:
        d = group.dirs.get("memory")
        for line in _read(d / "memory.oom_control").splitlines() if d else ():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return int(_read(d / "memory.failcnt").strip() or 0) if d else 0

    def memory_peak(self, group: Group) -> int:
        d = group.dirs.get("memory")
        text = _read(d / "memory.max_usage_in_bytes").strip() if d else ""
        return int(text) if text.isdigit() else 0


class V2(Backend):
    version = "v2"
    WANTED = ("memory", "pids", "cpu")

    def __init__(self, home: Path):
        super().__init__({"unified": Path(home)})
        self.home = Path(home)

    def controllers(self) -> tuple[str, ...]:
        have = _read(self.home / "cgroup.controllers").split()
        return tuple(c for c in self.WANTED if c in have)

    def prepare(self) -> None:
        """Enable the controllers for ``<home>/leedl/*``. A v2 cgroup that has processes cannot
        hand controllers to its children, so the processes of ``<home>`` move to a leaf
        ``<home>/leedl-main`` first."""
        want = " ".join(f"+{c}" for c in self.controllers())
        parent = self.home / PREFIX
        enabled = _read(self.home / "cgroup.subtree_control").split()
        if not all(c in enabled for c in self.controllers()):
            procs = [p for p in _read(self.home / "cgroup.procs").split() if p.isdigit()]
            if procs:
                leaf = self.home / f"{PREFIX}-main"
                leaf.mkdir(exist_ok=True)
                for p in procs:
                    try:
                        _write(leaf / "cgroup.procs", p)
                    except ProcessLookupError:
                        pass
            _write(self.home / "cgroup.subtree_control", want)
        parent.mkdir(exist_ok=True)
        if not all(c in _read(parent / "cgroup.subtree_control").split() for c in self.controllers()):
            _write(parent / "cgroup.subtree_control", want)

    def configure(self, group: Group, *, memory_mb, pids, cpus) -> None:
        d = group.dirs["unified"]
        if memory_mb is not None:
            _write(d / "memory.max", str(memory_mb << 20))
            _write(d / "memory.swap.max", "0")
        if pids is not None:
            _write(d / "pids.max", str(pids))
        if cpus is not None and "cpu" in self.controllers():
            _write(d / "cpu.max", f"{max(1000, int(cpus * 100000))} 100000")

    def _kv(self, group: Group, file: str) -> dict:
        out = {}
        for line in _read(group.dirs["unified"] / file).splitlines():
            k, _, v = line.partition(" ")
            if v.strip().isdigit():
                out[k] = int(v)
        return out

    def cpu_seconds(self, group: Group) -> float:
        return self._kv(group, "cpu.stat").get("usage_usec", 0) / 1e6

    def oom_kills(self, group: Group) -> int:
        return self._kv(group, "memory.events").get("oom_kill", 0)

    def memory_peak(self, group: Group) -> int:
        text = _read(group.dirs["unified"] / "memory.peak").strip()
        return int(text) if text.isdigit() else 0

    def kill(self, group: Group) -> None:
        kill_file = group.dirs["unified"] / "cgroup.kill"
        if kill_file.exists():  # Linux >= 5.14: the kernel kills every process, forks included
            try:
                _write(kill_file, "1")
            except OSError:
                pass
        super().kill(group)


# --- finding the hierarchy ----------------------------------------------------------------------
def _mounts(mounts_file: str) -> list[tuple[str, str, set[str]]]:
    """(fstype, mount point, options) of every cgroup mount."""
    out = []
    for line in _read(Path(mounts_file)).splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2] in ("cgroup", "cgroup2"):
            out.append((parts[2], parts[1], set(parts[3].split(","))))
    return out


def _own_paths(cgroup_file: str) -> dict[str, str]:
    """controller -> this process's cgroup path ("" key: the v2 hierarchy)."""
    out = {}
    for line in _read(Path(cgroup_file)).splitlines():
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


def sweep_own(b: Backend | None = None) -> int:
    """Remove every group this process made (its judges and sandboxes), at exit."""
    b = b or backend()[0]
    if b is None:
        return 0
    tag = owner_tag() + "-"
    return sum(g.remove() for g in b.groups() if g.name.startswith(tag))


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
                _write(d / "cgroup.procs", str(os.getpid()))
        except OSError:
            self.leave()

    def leave(self) -> None:
        if self.group is None:
            return
        b = self.backend
        for c in self.group.dirs:
            home = b.home / f"{PREFIX}-main" if isinstance(b, V2) else Path(b.homes[c])
            try:
                _write(home / "cgroup.procs", str(os.getpid()))
            except OSError:
                pass
        self.group.remove(timeout=2.0)
        self.group = None
