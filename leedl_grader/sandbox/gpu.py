"""CUDA in the strict sandbox: what a sandbox on a GPU may see, and how a CUDA error is scored.

With ``--device cuda`` the strict sandbox gets, besides what every sandbox gets, exactly:

- the device nodes CUDA opens: ``/dev/nvidiactl``, ``/dev/nvidia-uvm`` and ``/dev/nvidia-uvm-tools``,
  the node of each GPU the judge may use (``/dev/nvidiaN``; only those that
  ``CUDA_VISIBLE_DEVICES`` selects when the driver's ``/proc/driver/nvidia/gpus`` says which
  nodes they are, else every GPU's) and ``/dev/nvidia-caps`` (MIG) where it exists. CUDA drives
  a GPU by ``ioctl`` on these, so they are bound as device files (no suid), not as data;
- the driver's user-space libraries (``libcuda.so*``, ``libnvidia-*.so*``), read-only, where they
  lie outside the directories every sandbox already sees read-only (a container runtime may put
  them under ``/usr/local/nvidia`` — already seen — or elsewhere, e.g. ``/run/nvidia/driver``);
- ``CUDA_VISIBLE_DEVICES`` and ``CUDA_DEVICE_ORDER`` as the judge has them, so that ``cuda:0``
  in the sandbox is the judge's ``cuda:0``.

Nothing else: no ``/sys``, no other device, no socket of the driver's daemons. The judge decides
all of it (:func:`sandbox_access`) before the sandbox starts; the sandbox only binds the paths.
Checks on one GPU run one at a time across the machine (``runner.gpu_lock_path``).

A CUDA out-of-memory in the student's process is the student's ``memory`` outcome: the judge
reads it from the error's type and text (:func:`student_outcome`); what the student's process
claims about its own error is never more than a label among the student's outcomes.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass

CONTROL_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools")
CAPS_DIR = "nvidia-caps"  # MIG: per-instance capability nodes
GPUS_DIR = "/proc/driver/nvidia/gpus"
_LIBRARY = re.compile(r"^lib(cuda|nvidia-[a-z0-9-]+|nvcuvid|nvoptix)\.so(\.[0-9.]+)?$")


@dataclass(frozen=True)
class Gpu:
    """One GPU as the driver lists it."""

    bus: str  # PCI bus id, "0000:3b:00.0"
    minor: int  # its node is /dev/nvidia<minor>
    uuid: str  # "GPU-…"
    model: str


def read_gpus(root: str = GPUS_DIR) -> list[Gpu]:
    """The GPUs of ``/proc/driver/nvidia/gpus/<bus>/information`` (empty where there is none)."""
    out = []
    for info in sorted(glob.glob(os.path.join(root, "*", "information"))):
        fields = {}
        try:
            with open(info, encoding="utf-8", errors="replace") as f:
                for line in f:
                    key, sep, value = line.partition(":")
                    if sep:
                        fields[key.strip()] = value.strip()
            out.append(Gpu(os.path.basename(os.path.dirname(info)), int(fields["Device Minor"]),
                           fields.get("GPU UUID", ""), fields.get("Model", "")))
        except (OSError, KeyError, ValueError):
            continue
    return sorted(out, key=lambda g: g.bus.lower())


def visible_minors(visible: str | None, order: str | None, gpus: list[Gpu]) -> list[int] | None:
    """The device minors of the GPUs ``CUDA_VISIBLE_DEVICES`` selects, in CUDA's order; None when
    that cannot be told for sure (then every GPU's node is bound).

    Entries are UUIDs (``GPU-…``, a unique prefix is enough) or indices. An index counts in
    CUDA's order, which is the PCI bus order when ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` or when every
    GPU is the same model (the default "fastest first" breaks ties by bus order). CUDA reads the
    list up to its first entry that names no GPU."""
    if visible is None or not gpus:
        return None
    out: list[int] = []
    same = len({g.model for g in gpus}) == 1
    for raw in visible.split(","):
        e = raw.strip()
        if e.startswith("GPU-"):
            hits = [g for g in gpus if g.uuid.startswith(e)]
            if len(hits) != 1:
                break
            out.append(hits[0].minor)
        elif e.isdigit():
            if order != "PCI_BUS_ID" and not same:
                return None
            if int(e) >= len(gpus):
                break
            out.append(gpus[int(e)].minor)
        elif e:
            return None  # a MIG instance or a form this module does not know: bind every GPU
        else:
            break
    return out


def device_nodes(minors: list[int] | None, dev: str = "/dev") -> list[str]:
    """The device nodes to bind: CUDA's control nodes and those of the GPUs ``minors`` (every
    GPU's for None), as they exist under ``dev``."""
    out = [os.path.join(dev, n) for n in CONTROL_NODES if os.path.exists(os.path.join(dev, n))]
    if minors is None:
        gpu_nodes = sorted(p for p in glob.glob(os.path.join(dev, "nvidia*"))
                           if re.fullmatch(r"nvidia[0-9]+", os.path.basename(p)))
    else:
        gpu_nodes = [os.path.join(dev, f"nvidia{m}") for m in minors if os.path.exists(os.path.join(dev, f"nvidia{m}"))]
    out += gpu_nodes
    if gpu_nodes and os.path.isdir(os.path.join(dev, CAPS_DIR)):
        out.append(os.path.join(dev, CAPS_DIR))
    return out


def ldconfig_listing() -> str:
    """``ldconfig -p`` (the dynamic loader's cache), or "" where it cannot be read."""
    for exe in ("/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"):
        try:
            return subprocess.run([exe, "-p"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
    return ""


def library_dirs(ldconfig_text: str, search_path: str, covered: list[str]) -> list[str]:
    """Directories that hold the driver's libraries (from the loader's cache and from
    ``search_path``, an ``LD_LIBRARY_PATH``), less those under a directory of ``covered``."""
    found = []
    for line in ldconfig_text.splitlines():
        _, arrow, path = line.partition("=>")
        path = path.strip()
        if arrow and _LIBRARY.match(os.path.basename(path)):
            found.append(os.path.dirname(path))
    for d in search_path.split(":"):
        if d and os.path.isdir(d) and any(_LIBRARY.match(n) for n in os.listdir(d)):
            found.append(d)
    out = []
    for d in found:
        d = os.path.realpath(d) if os.path.exists(d) else os.path.normpath(d)
        if d in out or any(d == c or d.startswith(c.rstrip("/") + "/") for c in covered):
            continue
        out.append(d)
    return out


def sandbox_access(device: str, environ=None, *, dev: str = "/dev", gpus_root: str = GPUS_DIR,
                   ldconfig: str | None = None, covered: list[str] | None = None) -> dict | None:
    """What a strict sandbox on ``device`` gets beyond the ordinary: ``{"nodes", "libraries",
    "env"}`` (plain data, sent to the sandbox), or None for a CPU device."""
    if not str(device).startswith("cuda"):
        return None
    from .modes import SYSTEM_DIRS, python_roots

    environ = os.environ if environ is None else environ
    minors = visible_minors(environ.get("CUDA_VISIBLE_DEVICES"), environ.get("CUDA_DEVICE_ORDER"),
                            read_gpus(gpus_root))
    covered = list(SYSTEM_DIRS) + python_roots() if covered is None else covered
    libs = library_dirs(ldconfig_listing() if ldconfig is None else ldconfig, environ.get("LD_LIBRARY_PATH", ""),
                        covered)
    env = {k: environ[k] for k in ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER") if k in environ}
    return {"nodes": device_nodes(minors, dev), "libraries": libs, "env": env}


def describe(access: dict | None) -> str:
    """One line for a result's ``enforced``."""
    if not access:
        return ""
    nodes = ", ".join(access["nodes"]) or "none found"
    libs = f"; driver libraries read-only from {', '.join(access['libraries'])}" if access["libraries"] else ""
    return f"GPU: device nodes {nodes}{libs}; one check at a time per GPU"


# --- scoring a CUDA error -----------------------------------------------------------------------
STUDENT_OUTCOMES = ("error", "missing", "memory", "forbidden")


def is_cuda_oom(kind: str, message: str) -> bool:
    """Whether an error raised in the student's process is CUDA running out of memory
    (``torch.OutOfMemoryError``, or the RuntimeError older code paths raise)."""
    return kind in ("OutOfMemoryError", "CudaOutOfMemoryError") or "CUDA out of memory" in message or (
        "CUDA error: out of memory" in message)


def student_outcome(claimed: str, kind: str, message: str) -> str:
    """The outcome of an error the student's process reported: ``memory`` for a CUDA
    out-of-memory, else what it says if that is one of the outcomes an error may have
    (never ``passed``, a grader ``fault`` or anything else), else ``error``."""
    if is_cuda_oom(kind, message):
        return "memory"
    return claimed if claimed in STUDENT_OUTCOMES else "error"


# --- one check at a time per GPU ----------------------------------------------------------------
def gpu_lock_path(device: str, visible: str | None = None) -> str:
    """The lock file of the physical GPU that ``device`` ("cuda", "cuda:1") names in this process:
    judges (or Dask workers) pinned to different GPUs with CUDA_VISIBLE_DEVICES do not wait on
    each other; any two on one GPU do."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "") if visible is None else visible
    index = int(device.partition(":")[2] or 0)
    ids = [v.strip() for v in visible.split(",") if v.strip()]
    physical = ids[index] if index < len(ids) else str(index)
    return os.path.join(tempfile.gettempdir(), f"leedl-gpu-{re.sub(r'[^A-Za-z0-9-]', '_', physical)}.lock")


@contextlib.contextmanager
def device_lock(device: str):
    """Checks on one GPU run one at a time, across every judge process of the machine."""
    if not device.startswith("cuda"):
        yield
        return
    import fcntl

    with open(gpu_lock_path(device), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
