"""One control group: its directories, what it counts, how a process joins it, and the owner
tag in its name (pid and start time of the judge that made it)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .versions import Backend

PREFIX = "leedl"
V1_CONTROLLERS = ("memory", "pids", "cpuacct", "cpu")


class CgroupError(OSError):
    """A cgroup could not be made or used (the caller decides whether to go on without)."""


def read_text(path: Path) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def write_text(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def start_time(pid: int) -> str:
    """The kernel's start time of ``pid`` (tells a live owner from a recycled pid)."""
    stat = read_text(Path(f"/proc/{pid}/stat"))
    try:
        return stat.rsplit(")", 1)[1].split()[19]
    except IndexError:
        return ""


def owner_tag(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{pid}-{start_time(pid)}"


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
    def counts_cpu(self) -> bool:
        """Whether :meth:`cpu_seconds` counts anything (v1 needs the ``cpuacct`` hierarchy)."""
        return "cpuacct" in self.dirs or "unified" in self.dirs

    @property
    def procs_files(self) -> list[str]:
        """What a process writes ``0`` into to join the group (see :func:`join`)."""
        return sorted({str(d / "cgroup.procs") for d in self.dirs.values()})

    def pids(self) -> list[int]:
        found: set[int] = set()
        for d in self.dirs.values():
            found |= {int(x) for x in read_text(d / "cgroup.procs").split() if x.isdigit()}
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
        write_text(Path(path), "0")
