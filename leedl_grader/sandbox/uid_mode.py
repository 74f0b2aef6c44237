"""The boundary where namespaces are refused but leedl runs as root (a Gradescope container...).

``uid`` mode: the student's process runs as a dedicated unprivileged uid (one per sandbox, never
a real account's), in its own session, with the same rlimits as ``strict``. It reads only the
system and Python directories (less the data sets libraries ship) and its own copied files, and
writes only its own directory: a Landlock ruleset (Linux 5.13+) enforces that, and, where the
kernel has them, forbids TCP and signals or abstract sockets outside the sandbox. Without
Landlock the uid still cannot write outside its own directory and the world-writable ones, nor
touch the judge's files (``0700`` root), but can read every world-readable file and use the
network; each result then says so (a note).

When the student's process ends, every process of the uid is killed (``kill(-1)`` as that uid,
which the kernel applies atomically to all of them) and what the uid left in the world-writable
directories is removed, before the judge is told the process ended: so before any result is
written.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import stat
import time

from . import modes as sandbox
from . import policy

UID_ROOT = "/tmp/.leedl-uid"  # root-owned 0711: each sandbox's directory inside is its uid's, 0700
WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")

# Landlock (include/uapi/linux/landlock.h); the syscall numbers are the same on every architecture.
_CREATE, _ADD_RULE, _RESTRICT = 444, 445, 446
_PATH_BENEATH = 1
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
READ = EXECUTE | READ_FILE | READ_DIR
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)  # what a rule on a file may grant


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 where there is none."""
    if not sandbox.sys.platform.startswith("linux"):
        return 0
    v = sandbox._c().syscall(_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(v), 0)


class _Attr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _Beneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]


def _add(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        rule = _Beneath(rights, fd)
        sandbox._c().syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_PATH_BENEATH), ctypes.byref(rule),
                             ctypes.c_uint32(0))
    finally:
        os.close(fd)


def _allow_except(ruleset: int, path: str, rights: int, hidden: list[str]) -> None:
    """Grant ``rights`` beneath ``path`` but not beneath any of ``hidden`` (Landlock only adds
    rights, so the directories on the way to a hidden one are granted entry by entry)."""
    inside = [h for h in hidden if h == path or h.startswith(path.rstrip("/") + "/")]
    if not inside:
        _add(ruleset, path, rights)
        return
    if path in inside:
        return
    _add(ruleset, path, READ_DIR)  # list it, but not what is hidden below
    try:
        entries = os.listdir(path)
    except OSError:
        return
    for e in entries:
        _allow_except(ruleset, os.path.join(path, e), rights, hidden)


def restrict(own_dir: str) -> int:
    """Confine this process (and what it starts) to reading the system and Python directories and
    reading and writing ``own_dir``. Returns the ABI used (0: Landlock unavailable, nothing done)."""
    abi = landlock_abi()
    if abi <= 0:
        return 0
    attr = _Attr(_FS_BY_ABI.get(abi, _FS_BY_ABI[5]), 0b11 if abi >= 4 else 0, 0b11 if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = sandbox._c().syscall(_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return 0
    try:
        hidden = sandbox.library_data_dirs()
        for d in (*sandbox.SYSTEM_DIRS, *sandbox.python_roots(), *PROC):
            if os.path.exists(d):
                _allow_except(ruleset, os.path.realpath(d), READ, hidden)
        for dev in sandbox.DEVICES:
            _add(ruleset, dev, READ_FILE | WRITE_FILE)
        _add(ruleset, own_dir, attr.fs)
        sandbox._check(sandbox._c().prctl(sandbox.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
        if sandbox._c().syscall(_RESTRICT, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return abi


PROC = ("/proc/self", "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/sys/devices/system/cpu")
CAP_DAC_READ_SEARCH, PR_SET_KEEPCAPS, _CAP_V3 = 2, 8, 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def python_hidden_from_others() -> bool:
    """Whether an unprivileged uid could not reach the Python installation (under ``/root``, for
    instance): every directory on the way must be searchable by others."""
    for root in sandbox.python_roots() + [os.path.realpath(sandbox.sys.prefix)]:
        path = "/"
        for part in root.strip("/").split("/"):
            path = os.path.join(path, part)
            try:
                if not os.stat(path).st_mode & stat.S_IXOTH:
                    return True
            except OSError:
                return True
    return False


def become(uid: int, read_search: bool) -> None:
    """Drop to ``uid`` for good. With ``read_search`` (only ever under a Landlock ruleset, which
    decides what may be read), keep the one capability that lets the uid pass directory modes on
    the way to a Python installation that others cannot search."""
    if read_search:
        sandbox._c().prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)
    sandbox.drop_privileges(uid)
    if read_search:
        hdr = _CapHeader(_CAP_V3, 0)
        data = (_CapData * 2)()
        data[0].effective = data[0].permitted = 1 << CAP_DAC_READ_SEARCH
        sandbox._check(sandbox._c().capset(ctypes.byref(hdr), data), "capset")
        sandbox._c().prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0)


def own_dir(uid: int) -> str:
    return f"{UID_ROOT}/{uid}"


def enter(src: str, package: str, files: list[str], uid: int, limits: policy.Limits,
          address_space: bool = True) -> str:
    """In the student's process (as root, no namespaces): copy the files into the uid's own
    directory, confine, drop to the uid. Returns the directory that holds the package."""
    os.setsid()
    sandbox.die_with_parent()
    os.makedirs(UID_ROOT, mode=0o711, exist_ok=True)
    os.chmod(UID_ROOT, 0o711)
    home = own_dir(uid)
    shutil.rmtree(home, ignore_errors=True)
    os.mkdir(home, 0o700)
    sandbox.copy_submission(src, os.path.join(home, "submission", package), files)
    os.makedirs(os.path.join(home, "tmp"))
    for d in (home, os.path.join(home, "tmp")):
        os.chown(d, uid, uid)
    os.chdir(os.path.join(home, "tmp"))
    abi = restrict(home)
    os.environ.clear()
    os.environ.update({"HOME": home + "/tmp", "TMPDIR": home + "/tmp", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1",
                       "LEEDL_LANDLOCK": str(abi)})
    become(uid, read_search=abi > 0 and python_hidden_from_others())
    policy.apply_limits(limits, address_space=address_space)
    return os.path.join(home, "submission")


def _uid_processes(uid: int) -> list[int]:
    """Live (not zombie) processes whose real, effective or saved uid is ``uid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        state = next((x for x in lines if x.startswith("State:")), "")
        uids = next((x.split()[1:4] for x in lines if x.startswith("Uid:")), [])
        if str(uid) in uids and "Z" not in state.split()[1:2]:
            found.append(int(entry))
    return found


def kill_all(uid: int, timeout: float = 30.0) -> bool:
    """Kill every process of ``uid``: a helper that becomes the uid sends SIGKILL to every process
    it may signal (the kernel does that in one pass, with forks held off). True once none is left."""
    deadline = time.monotonic() + timeout
    while True:
        pid = os.fork()
        if pid == 0:
            try:
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.02)  # let the kernel finish the deaths
        if not _uid_processes(uid) or time.monotonic() > deadline:
            return not _uid_processes(uid)


PR_SET_CHILD_SUBREAPER = 36


def reap() -> None:
    """Reap every child this (subreaper) process has left: the sandbox's orphans, all killed."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def clean(uid: int) -> None:
    """Remove the uid's own directory and whatever it left in the world-writable directories."""
    shutil.rmtree(own_dir(uid), ignore_errors=True)
    for top in WORLD_WRITABLE:
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        for e in entries:
            try:
                if e.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path, ignore_errors=True)
                else:
                    os.unlink(e.path)
            except OSError:
                pass
