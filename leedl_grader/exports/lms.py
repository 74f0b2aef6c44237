"""Gradebooks an LMS imports: Canvas, Moodle, and leedl's own CSV, from a roster.

The roster is a CSV the teaching assistant provides, one row per enrolled student: a ``folder``
column (the student's entry in SUBMISSIONS, named as ``leedl grade`` names it) and the LMS's
identity columns under the LMS's own names (Canvas: ``Student, ID, SIS User ID, SIS Login ID,
Section``; Moodle: ``Email address``, ``ID number`` or ``Username``). A Canvas gradebook export
with a ``folder`` column added is a valid roster.

Nobody is dropped silently: a result whose folder is not in the roster is *unknown* and a
roster row without a result is *missing*; both are listed in the :class:`ExportReport`, the
missing ones are written with an empty grade (an LMS leaves an empty cell unchanged), and the
unknown ones go to ``<out>.unmatched.csv`` beside the gradebook.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ..judge.results import atomic_write
from ..model import SubmissionResult
from .folder import ExportError, exercise_order
from .text import csv_cell, csv_text, file_stem, number

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_IDENTIFIERS = ("Email address", "ID number", "Username")


@dataclass(frozen=True)
class Roster:
    columns: tuple[str, ...]
    rows: tuple[dict, ...]  # each has "folder" (normalised) and the roster's other columns


@dataclass(frozen=True)
class ExportReport:
    path: Path
    written: int  # students with a grade in the file
    unknown: tuple[str, ...] = ()  # results without a roster row
    missing: tuple[str, ...] = ()  # roster rows without a result


def folder_key(name: str) -> str:
    """A roster's folder as leedl names the student of that folder."""
    return file_stem(name)


def load_roster(path: Path) -> Roster:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a BOM from a spreadsheet is fine
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"cannot read the roster {path}: {exc}") from None
    reader = csv.DictReader(text.splitlines())
    columns = tuple(c.strip() for c in (reader.fieldnames or ()))
    lower = {c.lower(): c for c in columns}
    key = lower.get("folder") or lower.get("student folder")
    if key is None:
        raise ExportError(f"the roster {path} needs a 'folder' column naming each student's submission entry")
    rows, seen = [], {}
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        folder = row.get(key, "")
        if not folder:
            raise ExportError(f"{path}:{n}: the row has no folder")
        norm = folder_key(folder)
        if norm in seen:
            raise ExportError(f"{path}:{n}: folder {folder!r} is already on line {seen[norm]}")
        seen[norm] = n
        rows.append({**row, "folder": norm})
    return Roster(columns=tuple(c for c in columns if c != key), rows=tuple(rows))


def _column(row: dict, name: str) -> str:
    for k, v in row.items():
        if k.lower() == name.lower():
            return v
    return ""


def _match(graded: list[SubmissionResult], roster: Roster | None):
    by_student = {r.student: r for r in graded}
    if roster is None:
        return [({"folder": s}, r) for s, r in sorted(by_student.items())], (), ()
    pairs = [(row, by_student.get(row["folder"])) for row in roster.rows]
    known = {row["folder"] for row in roster.rows}
    unknown = tuple(sorted(s for s in by_student if s not in known))
    missing = tuple(row["folder"] for row in roster.rows if row["folder"] not in by_student)
    return pairs, unknown, missing


def _scores(r: SubmissionResult | None, exercises: list[str], per_exercise: bool) -> list[str]:
    if r is None:
        return [""] * (1 + (len(exercises) if per_exercise else 0))
    per = {e.name: e.score for e in r.exercises()}
    return [number(r.score)] + ([number(per.get(e, 0.0)) for e in exercises] if per_exercise else [])


def _write(out: Path, rows: list[list[str]], graded, unknown, missing, written: int) -> ExportReport:
    out = Path(out)
    atomic_write(out, csv_text(rows))
    side = out.with_name(out.stem + ".unmatched.csv")
    if unknown:
        by = {r.student: r for r in graded}
        atomic_write(side, csv_text([["folder", "total", "max"]] + [
            [csv_cell(s), number(by[s].score), number(by[s].max_score)] for s in unknown]))
    elif side.exists():
        side.unlink()
    return ExportReport(out, written, tuple(unknown), tuple(missing))


def canvas(graded: list[SubmissionResult], roster: Roster, out: Path, *, title: str,
           assignment_id: str = "", per_exercise: bool = False) -> ExportReport:
    """Canvas's gradebook import: ``Student, ID, SIS User ID, SIS Login ID, Section, <Title> (<id>)``,
    then a ``Points Possible`` row. Without an id Canvas creates a new assignment named ``<Title>``."""
    if not any(_column(row, c) for row in roster.rows for c in CANVAS_IDENTITY[1:4]):
        raise ExportError("the roster has no Canvas identity: add an 'ID', 'SIS User ID' or 'SIS Login ID' column")
    exercises = exercise_order(graded)
    head = f"{title} ({assignment_id})" if assignment_id else title
    columns = [head] + ([f"{title}: {e}" for e in exercises] if per_exercise else [])
    pairs, unknown, missing = _match(graded, roster)
    maximum = max((r.max_score for r in graded), default=0.0)
    per_max = {e.name: e.max_score for r in graded for e in r.exercises()}
    rows = [[*CANVAS_IDENTITY, *(csv_cell(c) for c in columns)],
            ["Points Possible", "", "", "", "", number(maximum),
             *([number(per_max.get(e, 0.0)) for e in exercises] if per_exercise else [])]]
    for row, r in pairs:
        rows.append([csv_cell(_column(row, c)) for c in CANVAS_IDENTITY] + _scores(r, exercises, per_exercise))
    return _write(out, rows, graded, unknown, missing, sum(r is not None for _, r in pairs))


def moodle(graded: list[SubmissionResult], roster: Roster, out: Path, *, title: str,
           per_exercise: bool = False) -> ExportReport:
    """Moodle's grade import (Grades > Import > CSV file): an identifier column (the first of
    ``Email address``, ``ID number``, ``Username`` the roster has) then one column per grade item."""
    ident = next((c for c in MOODLE_IDENTIFIERS if any(k.lower() == c.lower() for k in roster.columns)), None)
    if ident is None:
        raise ExportError("the roster has no Moodle identifier: add an 'Email address', 'ID number' or "
                          "'Username' column")
    exercises = exercise_order(graded)
    columns = [title] + ([f"{title}: {e}" for e in exercises] if per_exercise else [])
    pairs, unknown, missing = _match(graded, roster)
    rows = [[ident, *(csv_cell(c) for c in columns)]]
    for row, r in pairs:
        rows.append([csv_cell(_column(row, ident))] + _scores(r, exercises, per_exercise))
    return _write(out, rows, graded, unknown, missing, sum(r is not None for _, r in pairs))


def plain(graded: list[SubmissionResult], roster: Roster | None, out: Path) -> ExportReport:
    """leedl's gradebook (``folder, total, max, <exercise>...``), with the roster's columns after
    the folder when a roster is given."""
    exercises = exercise_order(graded)
    extra = list(roster.columns) if roster else []
    pairs, unknown, missing = _match(graded, roster)
    rows = [["folder", *(csv_cell(c) for c in extra), "total", "max", *exercises]]
    for row, r in pairs:
        ident = [csv_cell(row["folder"])] + [csv_cell(_column(row, c)) for c in extra]
        if r is None:
            rows.append(ident + [""] * (2 + len(exercises)))
        else:
            per = {e.name: e.score for e in r.exercises()}
            rows.append(ident + [number(r.score), number(r.max_score), *(number(per.get(e, 0.0)) for e in exercises)])
    return _write(out, rows, graded, unknown, missing, sum(r is not None for _, r in pairs))
