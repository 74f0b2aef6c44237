"""Read a results folder (``leedl grade --out``) back into the data model."""

from __future__ import annotations

from pathlib import Path

from ..judge import results
from ..model import SubmissionResult


class ExportError(Exception):
    """A user error in an export (no results, a malformed roster...): one clear line."""


def load_results(folder: Path) -> list[SubmissionResult]:
    """Every ``<student>.json`` of ``folder``, sorted by student; an unreadable file is an error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ExportError(f"{folder} is not a folder of results (leedl grade --out)")
    found = []
    for p in sorted(folder.glob("*.json")):  # the class's own record lives in .leedl/, never here
        r = results.read_result(p)
        if r is None:
            raise ExportError(f"{p} is not a leedl result file")
        found.append(r)
    if not found:
        raise ExportError(f"no results in {folder}: run `leedl grade ... --out {folder}` first")
    return sorted(found, key=lambda r: r.student)


def exercise_order(graded: list[SubmissionResult]) -> list[str]:
    """Exercises in the order the results list them (the chapter's order)."""
    order: list[str] = []
    for r in graded:
        for e in r.exercises():
            if e.name not in order:
                order.append(e.name)
    return order
