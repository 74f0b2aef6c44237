"""The two kernel interfaces behind one :class:`Backend`: the v1 hierarchies and the v2 unified
tree (see :mod:`leedl_grader.sandbox.cgroup` for when each is used)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from .group import PREFIX, V1_CONTROLLERS, CgroupError, Group, owner_tag, read_text, write_text

_counter = [0]  # groups made by this process, for unique names


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
            write_text(d["memory"] / "memory.limit_in_bytes", limit)
            if (d["memory"] / "memory.memsw.limit_in_bytes").exists():  # no escape into swap
                write_text(d["memory"] / "memory.memsw.limit_in_bytes", limit)
        if pids is not None and "pids" in d:
            write_text(d["pids"] / "pids.max", str(pids))
        if cpus is not None and "cpu" in d:
            write_text(d["cpu"] / "cpu.cfs_period_us", "100000")
            write_text(d["cpu"] / "cpu.cfs_quota_us", str(max(1000, int(cpus * 100000))))

    def cpu_seconds(self, group: Group) -> float:
        d = group.dirs.get("cpuacct")
        text = read_text(d / "cpuacct.usage").strip() if d else ""
        return int(text) / 1e9 if text.isdigit() else 0.0

    def oom_kills(self, group: Group) -> int:
        d = group.dirs.get("memory")
        for line in read_text(d / "memory.oom_control").splitlines() if d else ():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return int(read_text(d / "memory.failcnt").strip() or 0) if d else 0

    def memory_peak(self, group: Group) -> int:
        d = group.dirs.get("memory")
        text = read_text(d / "memory.max_usage_in_bytes").strip() if d else ""
        return int(text) if text.isdigit() else 0


class V2(Backend):
    version = "v2"
    WANTED = ("memory", "pids", "cpu")

    def __init__(self, home: Path):
        super().__init__({"unified": Path(home)})
        self.home = Path(home)

    def controllers(self) -> tuple[str, ...]:
        have = read_text(self.home / "cgroup.controllers").split()
        return tuple(c for c in self.WANTED if c in have)

    def prepare(self) -> None:
        """Enable the controllers for ``<home>/leedl/*``. A v2 cgroup that has processes cannot
        hand controllers to its children, so the processes of ``<home>`` move to a leaf
        ``<home>/leedl-main`` first."""
        want = " ".join(f"+{c}" for c in self.controllers())
        parent = self.home / PREFIX
        enabled = read_text(self.home / "cgroup.subtree_control").split()
        if not all(c in enabled for c in self.controllers()):
            procs = [p for p in read_text(self.home / "cgroup.procs").split() if p.isdigit()]
            if procs:
                leaf = self.home / f"{PREFIX}-main"
                leaf.mkdir(exist_ok=True)
                for p in procs:
                    try:
                        write_text(leaf / "cgroup.procs", p)
                    except ProcessLookupError:
                        pass
            write_text(self.home / "cgroup.subtree_control", want)
        parent.mkdir(exist_ok=True)
        if not all(c in read_text(parent / "cgroup.subtree_control").split() for c in self.controllers()):
            write_text(parent / "cgroup.subtree_control", want)

    def configure(self, group: Group, *, memory_mb, pids, cpus) -> None:
        d = group.dirs["unified"]
        if memory_mb is not None:
            write_text(d / "memory.max", str(memory_mb << 20))
            write_text(d / "memory.swap.max", "0")
        if pids is not None:
            write_text(d / "pids.max", str(pids))
        if cpus is not None and "cpu" in self.controllers():
            write_text(d / "cpu.max", f"{max(1000, int(cpus * 100000))} 100000")

    def _kv(self, group: Group, file: str) -> dict:
        out = {}
        for line in read_text(group.dirs["unified"] / file).splitlines():
            k, _, v = line.partition(" ")
            if v.strip().isdigit():
                out[k] = int(v)
        return out

    def cpu_seconds(self, group: Group) -> float:
        return self._kv(group, "cpu.stat").get("usage_usec", 0) / 1e6

    def oom_kills(self, group: Group) -> int:
        return self._kv(group, "memory.events").get("oom_kill", 0)

    def memory_peak(self, group: Group) -> int:
        text = read_text(group.dirs["unified"] / "memory.peak").strip()
        return int(text) if text.isdigit() else 0

    def kill(self, group: Group) -> None:
        kill_file = group.dirs["unified"] / "cgroup.kill"
        if kill_file.exists():  # Linux >= 5.14: the kernel kills every process, forks included
            try:
                write_text(kill_file, "1")
            except OSError:
                pass
        super().kill(group)


# --- finding the hierarchy ----------------------------------------------------------------------
