"""What a sandbox may use: the three modes, the limits, the uid of each sandbox, the rlimits.

Shared by every mode (:mod:`.modes` enters strict and process sandboxes, :mod:`.uid_mode` the uid
one); the judge reads the same :class:`Limits` to say in every result what was enforced.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

try:
    import resource
except ImportError:  # Windows: no rlimits (the judge's wall-time limits still hold)
    resource = None

STRICT, UID, PROCESS = "strict", "uid", "process"  # uid: root without namespaces (leedl_grader.sandbox.uid_mode)

# Sandbox uids: one per (judge process, worker), never a real account's. Two judges of one
# machine have different pids, so their sandboxes never share a uid (nor RLIMIT_NPROC).
UID_BASE, UID_SLOTS = 1 << 20, 16
UID_END = UID_BASE + (1 << 22) * UID_SLOTS  # pids are below 2**22 on Linux


def uid_for(judge_pid: int, n: int) -> int:
    """The uid of the ``n``-th sandbox of the judge ``judge_pid`` (reused only after 16 more)."""
    return UID_BASE + (judge_pid % (1 << 22)) * UID_SLOTS + n % UID_SLOTS


@dataclass(frozen=True)
class Limits:
    # Memory of all the sandbox's processes together (cgroup: resident memory, shared memory,
    # memfd and the scratch /tmp included); without a cgroup, address space added per process.
    memory_mb: int = 3072
    nproc: int = 64  # processes and threads of the sandbox (cgroup pids; else its own uid's)
    cpus: float = 1.0  # cores the sandbox's processes may use together (cgroup cpu)
    fsize_mb: int = 32  # largest file the student may write (output log included)
    nofile: int = 256
    cpu_total_s: int = 900  # a backstop; per-check CPU limits are enforced by the judge
    scratch_mb: int = 64  # size of the writable /tmp
    judge_memory_mb: int = 6144  # the judge process and its zygote (cgroup)


def enforced(limits: Limits, mode: str, groups: str, why: str) -> tuple[str, ...]:
    """What the sandbox enforces, and by what, in words (every result carries it).

    ``groups``: the cgroup version in use ("v1", "v2") or "" with ``why`` there is none."""
    if groups:
        by = f"cgroup {groups}"
        out = [f"memory {limits.memory_mb} MiB for all the sandbox's processes together, shared memory "
               f"and scratch included ({by})",
               f"{limits.nproc} processes and threads ({by})",
               f"{limits.cpus:g} core(s), CPU time of every process counted ({by})",
               f"judge memory {limits.judge_memory_mb} MiB ({by})"]
    else:
        out = [f"memory {limits.memory_mb} MiB of address space per process (RLIMIT_AS; no per-sandbox cap: {why})",
               f"{limits.nproc} processes of the sandbox's uid (RLIMIT_NPROC)",
               "CPU time of the sandbox's first process (RLIMIT_CPU; its children's once reaped)"]
    out += [f"scratch /tmp {limits.scratch_mb} MiB", f"files {limits.fsize_mb} MiB",
            f"open files {limits.nofile}"]
    if mode == STRICT:
        out.append("namespaces: pid, mount, network, ipc, uts; own uid; read-only system")
    return tuple(out)


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def apply_limits(limits: Limits, address_space: bool = True) -> None:
    """The rlimits. ``address_space=False`` where a cgroup caps memory: an address-space limit
    would only refuse what CUDA and allocators reserve without using."""
    if resource is None:
        return

    def set_(which, value, slack=0):
        try:
            soft, hard = resource.getrlimit(which)
            top = value + slack if hard == resource.RLIM_INFINITY else min(value + slack, hard)
            resource.setrlimit(which, (min(value, top), top))
        except (ValueError, OSError):
            pass  # not every platform has every limit; the judge's own limits still apply

    if address_space and sys.platform.startswith("linux"):
        set_(resource.RLIMIT_AS, _vm_size() + limits.memory_mb * 1024 * 1024)
    # CPU: SIGXCPU (a "timeout") at the soft limit; the kernel's SIGKILL at the hard one would
    # read like the memory limit.
    set_(resource.RLIMIT_CPU, limits.cpu_total_s, slack=2)
    set_(resource.RLIMIT_FSIZE, limits.fsize_mb * 1024 * 1024)
    set_(resource.RLIMIT_NOFILE, limits.nofile)
    set_(resource.RLIMIT_CORE, 0)
    if hasattr(resource, "RLIMIT_NPROC") and os.getuid() != 0:
        set_(resource.RLIMIT_NPROC, limits.nproc)
