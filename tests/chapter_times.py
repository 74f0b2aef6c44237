"""A pytest plugin: after the run, the seconds each chapter added to the suite (``.ci/run`` prints it).

A test belongs to the chapter its id names (``test_ch02_content.py``, ``test_validate[ch05_...]``);
the rest is the engine's. Setup and teardown count: fixtures that train are a chapter's cost."""

import re
from collections import defaultdict

_seconds: dict[str, float] = defaultdict(float)


def chapter_of(nodeid: str) -> str:
    """``"ch02"`` for a test that names chapter 2 (in its file or its parameters), else ``"engine"``."""
    m = re.search(r"ch(\d\d)(?!\d)", nodeid)
    return f"ch{m.group(1)}" if m and m.group(1) != "99" else "engine"  # ch99: the fixture course


def pytest_runtest_logreport(report):
    _seconds[chapter_of(report.nodeid)] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _seconds:
        return
    parts = [f"{k} {v:.0f} s" for k, v in sorted(_seconds.items()) if k != "engine"]
    parts.append(f"engine and CLI {_seconds.get('engine', 0.0):.0f} s")
    terminalreporter.write_sep("-", "seconds each chapter adds")
    line = ""
    for p in parts:  # wrapped to 80 columns
        if line and len(line) + len(p) + 3 > 80:
            terminalreporter.write_line(line)
            line = ""
        line = f"{line} · {p}" if line else p
    terminalreporter.write_line(line)
