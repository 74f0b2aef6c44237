"""What the student's code printed: read by the judge from each sandbox's output log, bounded.

A sandbox's stdout and stderr go to one log file the judge opened (``workers.Worker.log``);
the judge reads what a check added to the logs of the sandboxes it used, so a print inside the
student's function or at import time shows up under the check it explains. The text is the
student's: shown as text (``exports.text.terminal_text``), never trusted for a grade.
"""

from __future__ import annotations

import os
from pathlib import Path

PRINTED = "printed by your code during this check:"  # the heading wherever it is shown
MAX_CHARS = 2000  # what one check keeps: enough for a few shapes and losses, never a flood
HEAD_CHARS = 1400  # of which the beginning (what the code printed first) ...
TAIL_CHARS = 500  # ... and the end (what it printed last, just before the failure)
MAX_LINES = 40
_READ = 64 * 1024  # bytes read from each end of a larger log


class Logs:
    """The output logs of one submission's sandboxes and how much of each was already shown."""

    def __init__(self):
        self._seen: dict[str, int] = {}

    def take(self, logs) -> str:
        """Everything the given logs gained since last taken, bounded (see :func:`bound`)."""
        parts, cut = [], 0
        for log in dict.fromkeys(str(p) for p in logs):
            text, skipped, end = _read_from(Path(log), self._seen.get(log, 0))
            self._seen[log] = end
            cut += skipped
            if text:
                parts.append(text)
        return bound("".join(parts), cut)

    def reset(self) -> None:
        self._seen.clear()


def _read_from(path: Path, start: int) -> tuple[str, int, int]:
    """(text, bytes skipped in the middle, end offset) of ``path`` from ``start``."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            if end <= start:
                return "", 0, end
            f.seek(start)
            if end - start <= 2 * _READ:
                return f.read(end - start).decode(errors="replace"), 0, end
            head = f.read(_READ)
            f.seek(end - _READ)
            tail = f.read(_READ)
            return (head.decode(errors="replace") + "\0" + tail.decode(errors="replace"),
                    end - start - 2 * _READ, end)
    except OSError:
        return "", 0, start


def bound(text: str, skipped_bytes: int = 0) -> str:
    """At most :data:`MAX_LINES` lines and :data:`MAX_CHARS` characters, beginning and end kept,
    with a note saying how much was cut."""
    text = text.replace("\0", "\n")
    lines = text.splitlines(keepends=True)
    if len(lines) <= MAX_LINES and len(text) <= MAX_CHARS and not skipped_bytes:
        return text
    total = len(text) + skipped_bytes
    head_lines = lines[: MAX_LINES * 3 // 4]
    tail_lines = lines[len(head_lines):][-(MAX_LINES // 4):]
    head = "".join(head_lines)[:HEAD_CHARS]
    tail = "".join(tail_lines)[-TAIL_CHARS:]
    shown = len(head) + len(tail)
    if not head.endswith("\n"):
        head += "\n"
    return f"{head}[… output cut: {max(total - shown, 0)} more characters …]\n{tail}"
