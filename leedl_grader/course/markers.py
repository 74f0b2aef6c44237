"""Clear solution regions: the reference file becomes the student's stub.

A strict transform, as nbgrader's ClearSolutions is: every ``# BEGIN SOLUTION`` needs its
``# END SOLUTION`` at the same indentation, regions do not nest, and a stray marker is an
error naming the file and line. Inside a function the region becomes one uniform
``raise NotImplementedError("<module>.<qualname>: not implemented yet")``; at module level it
is removed (imports and helpers only the solution needs).
"""

from __future__ import annotations

import re

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
_MARKER = re.compile(r"^(\s*)#\s*(BEGIN|END)\s+SOLUTION\b(.*)$")
_INLINE = re.compile(r"#\s*(BEGIN|END)\s+SOLUTION\b")
_DEF = re.compile(r"^(\s*)(?:async\s+)?(def|class)\s+([A-Za-z_][A-Za-z0-9_]*)")


class MarkerError(ValueError):
    """A malformed solution region."""


def _qualname(lines: list[str], upto: int, indent: int) -> str:
    """Names of the defs/classes enclosing line ``upto`` (scan upward by indentation)."""
    names, limit = [], indent
    for line in reversed(lines[:upto]):
        m = _DEF.match(line)
        if m and len(m.group(1)) < limit:
            names.append(m.group(3))
            limit = len(m.group(1))
            if limit == 0:
                break
    return ".".join(reversed(names))


def clear_solutions(source: str, module: str = "", filename: str = "<source>") -> str:
    """Return ``source`` with every solution region cleared."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    open_at: int | None = None
    open_indent = ""
    for i, line in enumerate(lines):
        m = _MARKER.match(line.rstrip("\n"))
        if m is None:
            if _INLINE.search(line):
                raise MarkerError(f"{filename}:{i + 1}: a solution marker must stand alone on its line")
            if open_at is None:
                out.append(line)
            continue
        indent, kind, rest = m.groups()
        if rest.strip():
            raise MarkerError(f"{filename}:{i + 1}: unexpected text after the marker: {rest.strip()!r}")
        if kind == "BEGIN":
            if open_at is not None:
                raise MarkerError(f"{filename}:{i + 1}: nested BEGIN SOLUTION (region opened at line {open_at + 1})")
            open_at, open_indent = i, indent
            continue
        if open_at is None:
            raise MarkerError(f"{filename}:{i + 1}: END SOLUTION without BEGIN SOLUTION")
        if indent != open_indent:
            raise MarkerError(
                f"{filename}:{i + 1}: END SOLUTION indented differently from its BEGIN at line {open_at + 1}"
            )
        if indent:
            name = _qualname(lines, open_at, len(indent))
            where = f"{module}.{name}" if module else name
            out.append(f'{indent}raise NotImplementedError("{where}: not implemented yet")\n')
        open_at = None
    if open_at is not None:
        raise MarkerError(f"{filename}:{open_at + 1}: BEGIN SOLUTION is never closed")
    return _squeeze_blank_lines("".join(out))


def _squeeze_blank_lines(text: str) -> str:
    # Removing a module-level region can leave 3+ blank lines; keep at most two (PEP 8).
    return re.sub(r"\n{4,}", "\n\n\n", text)
