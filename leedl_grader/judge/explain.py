"""Explain a failure in the student's terms: what the code was given, and where it was.

The inputs are described by the judge from what it sent (shapes and dtypes only: a hidden
check's values stay hidden). Where the code was (an exception's frames, the line a timed-out
call was stopped at) can only come from the student's process, which could forge it: it is
shown as the process reported it, labelled so, and never used for a grade.
"""

from __future__ import annotations

import os
import re

MAX_FRAMES = 8
MAX_INPUTS = 8

_FAULT_FRAME = re.compile(r'^\s*File "(?P<file>.*)", line (?P<line>\d+) in (?P<func>\S+)')


def describe(value, depth: int = 0) -> str:
    """A short type description: ``Tensor(8, 3) float64``, ``int``, ``list[3] of Tensor(4,) float32``."""
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        kind = type(value).__name__ if type(value).__name__ != "ndarray" else "array"
        dims = ", ".join(str(int(d)) for d in shape)
        return f"{kind}({dims}{',' if len(shape) == 1 else ''}) {str(dtype).removeprefix('torch.')}"
    if isinstance(value, (list, tuple)):
        name = type(value).__name__
        if not value or depth >= 2:
            return f"{name}[{len(value)}]"
        kinds = list(dict.fromkeys(describe(v, depth + 1) for v in value[:16]))
        return f"{name}[{len(value)}] of " + (kinds[0] if len(kinds) == 1 else "mixed")
    if isinstance(value, dict):
        return f"dict[{len(value)}]"
    return type(value).__name__


def inputs(message) -> str:
    """``called with: x: Tensor(8, 3) float64, lr: float`` for a request the judge sent."""
    if not isinstance(message, dict):
        return ""
    spec = message.get("spec") or {}
    if not isinstance(spec, dict):
        return ""
    if message.get("driver") == "call":
        parts = [describe(a) for a in spec.get("args") or []]
        parts += [f"{k}={describe(v)}" for k, v in (spec.get("kwargs") or {}).items()]
    else:
        parts = [f"{k}: {describe(v)}" for k, v in spec.items() if k not in ("package",)]
    if not parts:
        return ""
    more = f", … ({len(parts) - MAX_INPUTS} more)" if len(parts) > MAX_INPUTS else ""
    verb = "called with" if message.get("driver") == "call" else f"run by {message.get('driver')} with"
    return f"{verb}: {', '.join(parts[:MAX_INPUTS])}{more}"


def own_frames(frames, package_dir: str) -> list[str]:
    """``file.py:12 in fn: source`` for each frame of the student's own files (innermost last)."""
    out = []
    for f in frames:
        if f.filename.startswith(package_dir + os.sep) or os.path.dirname(f.filename) == package_dir:
            src = (f.line or "").strip()
            out.append(f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" + (f": {src}" if src else ""))
    return out[-MAX_FRAMES:]


def stopped_at(dump: str, package: str) -> str:
    """From a faulthandler dump, the innermost frame in the student's package: ``file.py:12 in fn``."""
    for line in dump.splitlines():  # most recent call first
        m = _FAULT_FRAME.match(line)
        if m and os.path.basename(os.path.dirname(m["file"])) == package:
            return f"{os.path.basename(m['file'])}:{m['line']} in {m['func']}"
    return ""
