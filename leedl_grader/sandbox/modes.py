"""Where the student's code runs: a fresh process, strictly isolated where Linux allows it.

Two levels, and every result names the one that ran (``SubmissionResult.sandbox``):

``strict`` (Linux, as root) — the student's process is PID 1 of new PID, mount, network, IPC
and UTS namespaces, so that every process it starts (detached, double-forked, in a new
session) dies with it, and is reaped before the monitor reports the exit (so before the judge
writes a result); ``/proc`` shows only the sandbox's processes. Its root is a tmpfs (entered
with ``pivot_root``, the old root unmounted; ``chroot`` where that fails) holding only
read-only binds of the system directories and the Python prefixes (so: no reference, hidden
tests, other submissions, output folder, judge's temp dir, grader sources or home directory
other than the Python prefix itself), its own files read-only under ``/submission`` and a
size-capped ``/tmp``; no network device but a down loopback; an unprivileged uid of its own
(one per sandbox, so the process limit is per sandbox), no new privileges, death with its
monitor, rlimits on address space, CPU time, processes, file size (the output log included)
and open files.

``process`` — elsewhere (macOS, Windows, no root, no namespaces): a separate process in its own
session with the same rlimits where the platform has them. Not safe against a hostile student;
``leedl grade`` refuses it without ``--insecure``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import stat
import sys

from .policy import Limits, apply_limits

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT = 1, 2, 4, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
ROOT_PARENT = "/tmp/.leedl-sandbox"  # an empty mount point; each sandbox mounts its own tmpfs there
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
_libc = None


def _c():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    _check(_c().unshare(flags), "unshare")


def mount(src: str | None, dst: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(s):
        return s.encode() if s is not None else None

    _check(_c().mount(enc(src), enc(dst), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {dst}")


def strict_available() -> tuple[bool, str]:
    """Whether ``strict`` isolation can run here, and if not, why."""
    if not sys.platform.startswith("linux"):
        return False, f"namespaces need Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return False, "namespaces and a separate uid need root"
    pid = os.fork()
    if pid == 0:  # probe in a throw-away child: unshare changes the caller
        try:
            unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
            mount(None, "/", None, MS_REC | MS_PRIVATE)
            os._exit(0)
        except BaseException:  # noqa: B036
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return False, "this kernel or container does not allow new namespaces"
    return True, ""


def python_roots() -> list[str]:
    """Directories the interpreter and its packages live in (bound read-only)."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    for p in sys.path:
        rp = os.path.realpath(p) if p else ""
        if rp.endswith(("site-packages", "dist-packages")) and os.path.isdir(rp):
            roots.add(rp)
    out = []
    for r in sorted(roots, key=len):  # drop those inside one already listed
        if not any(r == o or r.startswith(o + os.sep) for o in out):
            out.append(r)
    return [r for r in out if not any(r == s or r.startswith(s + os.sep) for s in SYSTEM_DIRS)]


# Data sets that installed libraries ship as files. The grader holds the data (it passes training
# data in and keeps evaluation data to itself), so none of these is readable in a sandbox.
LIBRARY_DATA = ("sklearn/datasets/data", "sklearn/datasets/images", "sklearn/datasets/descr")


def library_data_dirs() -> list[str]:
    """The directories of :data:`LIBRARY_DATA` that exist under the Python roots (real paths)."""
    out = []
    for p in sys.path:
        if not p or not p.rstrip("/").endswith(("site-packages", "dist-packages")):
            continue
        for rel in LIBRARY_DATA:
            d = os.path.realpath(os.path.join(p, rel))
            if os.path.isdir(d) and d not in out:
                out.append(d)
    return out


def copy_submission(src: str, dst: str, files: list[str]) -> list[str]:
    """Copy the regular ``.py`` files named in ``files`` (no links, no directories) into ``dst``.

    Returns notes on what was refused. Runs in trusted code, before any student code.
    """
    notes = []
    os.makedirs(dst, exist_ok=True)
    for name in files:
        path = os.path.join(src, name)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(st.st_mode):
            notes.append(f"{name} is not a regular file (a link?); it was ignored")
            continue
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as fin, open(os.path.join(dst, name), "wb") as fout:
            shutil.copyfileobj(fin, fout)
    # The package's __init__ is the grader's, empty: a broken or hostile one would cost every file.
    open(os.path.join(dst, "__init__.py"), "w").close()
    return notes


def _bind(src: str, root: str, readonly: bool = True) -> None:
    dst = root + src
    if os.path.islink(src):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.lexists(dst):
            os.symlink(os.readlink(src), dst)
        return
    if os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        open(dst, "a").close()
    mount(src, dst, None, MS_BIND | MS_REC)
    if readonly:
        mount(None, dst, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_REC)


def enter_strict(src: str, package: str, files: list[str], uid: int, limits: Limits,
                 address_space: bool = True, gpu: dict | None = None) -> str:
    """In PID 1 of fresh namespaces (as root): build the new root, enter it, drop privileges.

    ``gpu``: what the judge decided a sandbox on a GPU may see (:func:`leedl_grader.sandbox.gpu.sandbox_access`).
    Returns the directory that holds the package (for ``sys.path``).
    """
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = ROOT_PARENT
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, f"size={limits.scratch_mb + 16}m,mode=755")
    for d in SYSTEM_DIRS:
        if os.path.lexists(d):
            _bind(d, root)
    # The scratch /tmp comes before the Python binds: an interpreter or virtual environment that
    # lives under /tmp must stay visible (read-only) inside it rather than be hidden by it.
    os.makedirs(root + "/tmp", exist_ok=True)
    mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={limits.scratch_mb}m,mode=1777")
    for d in python_roots():
        _bind(d, root)
    for d in library_data_dirs():  # an empty, read-only directory in place of each data set
        if os.path.isdir(root + d):
            mount("tmpfs", root + d, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=555")
    os.makedirs(root + "/dev", exist_ok=True)
    for dev in DEVICES:
        if os.path.exists(dev):
            _bind(dev, root, readonly=False)
    if gpu:
        for node in gpu.get("nodes", ()):  # CUDA drives the GPU by ioctl on these: device files, no suid
            if os.path.exists(node):
                _bind(node, root, readonly=False)
        for d in gpu.get("libraries", ()):  # the driver's user-space libraries, read-only
            if os.path.isdir(d):
                _bind(d, root)
    os.makedirs(root + "/proc", exist_ok=True)
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV)
    pkg_dir = root + "/submission/" + package
    copy_submission(src, pkg_dir, files)
    mount(root + "/submission", root + "/submission", None, MS_BIND | MS_REC)
    mount(None, root + "/submission", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _enter_root(root)
    os.chdir("/tmp")
    os.environ.clear()
    os.environ.update({"HOME": "/tmp", "TMPDIR": "/tmp", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    os.environ.update((gpu or {}).get("env", {}))  # which GPU is cuda:0, as the judge has it
    drop_privileges(uid)
    apply_limits(limits, address_space=address_space)
    return "/submission"


def _enter_root(root: str) -> None:
    """Make ``root`` the root. ``pivot_root`` and unmounting the old root leave nothing of the
    host's tree in this mount namespace; ``chroot`` (the fallback) hides it from a process
    without privileges, which the student's is about to be."""
    import platform

    nr = _SYS_PIVOT_ROOT.get(platform.machine())
    old = root + "/.old-root"
    if nr is not None:
        os.makedirs(old, exist_ok=True)
        if _c().syscall(nr, root.encode(), old.encode()) == 0:
            os.chdir("/")
            _check(_c().umount2(b"/.old-root", MNT_DETACH), "umount old root")
            os.rmdir("/.old-root")
            return
        os.rmdir(old)
    os.chroot(root)


def die_with_parent() -> None:
    """SIGKILL this process when its parent exits (the kernel clears this on a uid change)."""
    if sys.platform.startswith("linux"):
        _c().prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)


def enter_process(src: str, package: str, files: list[str], scratch: str, limits: Limits,
                  address_space: bool = True) -> str:
    """The fallback: own session, scratch directory, rlimits."""
    os.setsid()
    die_with_parent()
    pkg_root = os.path.join(scratch, "submission")
    copy_submission(src, os.path.join(pkg_root, package), files)
    os.makedirs(os.path.join(scratch, "tmp"), exist_ok=True)
    os.chdir(os.path.join(scratch, "tmp"))
    apply_limits(limits, address_space=address_space)
    return pkg_root


def drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(_c().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
    die_with_parent()
