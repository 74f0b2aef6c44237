"""Result files, derived from the model: Gradescope-compatible JSON and the CSV gradebook.

``<student>.json`` is a valid Gradescope ``results.json`` (score, execution_time, tests with
name/score/max_score/status/output/visibility) with leedl's own fields beside, written from the
lossless record (:func:`to_record`), which it carries under ``"leedl"``; only that record is ever
read back. Files are written
atomically (temporary file, fsync, rename), so a killed batch never leaves half a result.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import codec
from ..exports.text import csv_cell
from ..model import CheckResult, Outcome, SubmissionResult
from .printed import PRINTED

RECORD_FORMAT = 1
_SPEED = " (speed: {:.2f}x the yardstick's time)"


# --- the one serialisation of the model: every field, both ways -----------------------------------
def _check_record(r: CheckResult) -> dict:
    return {"name": r.name, "exercise": r.exercise, "outcome": r.outcome.value, "score": r.score,
            "max_score": r.max_score, "message": r.message, "visibility": r.visibility, "duration": r.duration,
            "kind": r.kind, "ratio": r.ratio, "detail": codec.to_json(dict(r.detail)), "output": r.output}


def to_record(result: SubmissionResult) -> dict:
    """The lossless, JSON-able form of a result: what crosses processes and what reruns read back."""
    return {
        "format": RECORD_FORMAT, "student": result.student, "assignment": result.assignment, "seed": result.seed,
        "sandbox": result.sandbox, "leedl_version": result.leedl_version, "execution_time": result.execution_time,
        "device": result.device, "key": result.key, "notes": list(result.notes), "enforced": list(result.enforced),
        "usage": codec.to_json(dict(result.usage)), "results": [_check_record(r) for r in result.results],
    }


def from_record(d: dict) -> SubmissionResult:
    """Inverse of :func:`to_record` (``from_record(to_record(r))`` equals ``r`` in every field)."""
    if d.get("format") != RECORD_FORMAT:
        raise ValueError(f"unknown result format {d.get('format')!r}")
    rs = tuple(
        CheckResult(name=t["name"], exercise=t["exercise"], outcome=Outcome(t["outcome"]), score=float(t["score"]),
                    max_score=float(t["max_score"]), message=t["message"], visibility=t["visibility"],
                    duration=float(t["duration"]), kind=t["kind"],
                    ratio=None if t["ratio"] is None else float(t["ratio"]), detail=codec.from_json(t["detail"]),
                    output=str(t.get("output", "")))
        for t in d["results"]
    )
    return SubmissionResult(
        student=d["student"], assignment=d["assignment"], seed=int(d["seed"]), sandbox=d["sandbox"],
        leedl_version=d["leedl_version"], results=rs, execution_time=float(d["execution_time"]),
        device=d["device"], key=d["key"], notes=tuple(d["notes"]), enforced=tuple(d["enforced"]),
        usage=codec.from_json(d["usage"]),
    )


# --- Gradescope's results.json: derived, written, never read back -----------------------------------
def test_json(r: CheckResult) -> dict:
    outcome = r.outcome.value
    output = r.message if r.outcome is not Outcome.PASSED else "passed"
    if r.outcome is not Outcome.PASSED:
        output = f"[{outcome}] {r.message}"
    if r.ratio is not None:
        output += _SPEED.format(r.ratio)
    if r.output and r.visibility == "visible":  # a hidden check's prints may echo hidden inputs: TAs only
        output += "\n" + PRINTED + "\n" + r.output
    return {
        "name": f"{r.exercise}: {r.name}",
        "exercise": r.exercise,
        "score": r.score,
        "max_score": r.max_score,
        "status": r.outcome.gradescope_status,
        "outcome": outcome,
        "output": output,
        # Gradescope: "visible" always shown; hidden checks' outcomes show after publishing.
        "visibility": "visible" if r.visibility == "visible" else "after_published",
        "kind": r.kind,
        "duration": r.duration,
        **({"ratio": r.ratio} if r.ratio is not None else {}),
    }


def fault_lines(result: SubmissionResult) -> list[str]:
    """One line per check the grader failed on, for the TA."""
    return [f"{r.exercise}: {r.name}: {r.message}" + (f" [{r.detail['judge_error']}]"
                                                      if r.detail.get("judge_error") else "")
            for r in result.faults]


def to_json(result: SubmissionResult) -> dict:
    """Gradescope's ``results.json`` with leedl's fields beside, and the lossless record under
    ``"leedl"`` (what a rerun reads; the Gradescope fields are never read back)."""
    return {
        "student": result.student,
        "assignment": result.assignment,
        "score": result.score,
        "max_score": result.max_score,
        "execution_time": result.execution_time,
        "leedl_version": result.leedl_version,
        "seed": result.seed,
        "sandbox": result.sandbox,
        "enforced": list(result.enforced),
        "usage": codec.to_json(dict(result.usage)),
        "device": result.device,
        "key": result.key,
        "output": "\n".join(result.notes),
        "judge_faults": fault_lines(result),
        "tests": [test_json(r) for r in result.results],
        "leedl": to_record(result),
    }


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # as any file the user writes (mkstemp's 0600 is for secrets)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class Owner:
    """Who gets the files a grade run writes. Grading runs as root (the strict sandbox needs it):
    under ``sudo`` the files go to the user who ran sudo; with ``--group`` their group may read them."""

    uid: int = -1  # -1: unchanged
    gid: int = -1
    group_read: bool = False

    @classmethod
    def for_run(cls, group: str | None = None) -> Owner:
        """``$SUDO_UID``/``$SUDO_GID`` when running as root under sudo; ``group``: a name or gid
        (ValueError when unknown)."""
        uid = gid = -1
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            uid = int(os.environ.get("SUDO_UID", "-1") or -1)
            gid = int(os.environ.get("SUDO_GID", "-1") or -1)
        if group is not None:
            import grp

            try:
                gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
            except KeyError:
                raise ValueError(f"no group {group!r} on this machine") from None
        return cls(uid, gid, group is not None)

    def apply(self, *paths: Path) -> None:
        for path in paths:
            try:
                if self.uid >= 0 or self.gid >= 0:
                    os.chown(path, self.uid, self.gid, follow_symlinks=False)
                if self.group_read:
                    mode = os.stat(path).st_mode
                    os.chmod(path, mode | stat.S_IRGRP | (stat.S_IXGRP if stat.S_ISDIR(mode) else 0))
            except FileNotFoundError:
                pass

    def apply_tree(self, root: Path) -> None:
        """``root`` and everything below it."""
        if self.uid < 0 and self.gid < 0 and not self.group_read:
            return
        root = Path(root)
        self.apply(root, *sorted(root.rglob("*")))


def write_result(out: Path, result: SubmissionResult, name: str | None = None) -> Path:
    """``out/<name>.json`` (``name``: the submission's file name, default the student's)."""
    path = Path(out) / f"{name or result.student}.json"
    atomic_write(path, json.dumps(to_json(result), indent=2, ensure_ascii=False) + "\n")
    return path


def read_result(path: Path) -> SubmissionResult | None:
    """The result a file was written from (its lossless record), or None."""
    try:
        return from_record(json.loads(Path(path).read_text(encoding="utf-8"))["leedl"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, codec.WireError):
        return None


def gradebook_csv(results: list[SubmissionResult], exercises: list[str]) -> str:
    """One row per student. Scores are rounded to the points' own precision (:func:`decimals`):
    what a gradebook can show; the exact scores stay in each student's JSON record."""
    places = decimals([c.max_score for r in results for c in r.results])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "total", "max", *exercises])
    for r in sorted(results, key=lambda r: r.student):
        per = {e.name: e.score for e in r.exercises()}
        w.writerow([csv_cell(r.student), _num(r.score, places), _num(r.max_score, places),
                    *[_num(per.get(e, 0.0), places) for e in exercises]])
    return buf.getvalue()


def decimals(points: list[float], most: int = 3) -> int:
    """Decimal places for scores out of ``points``: one more than the points themselves need
    (points in halves: 2 places, so that a partial 44.9028 reads 44.9, a half 44.5), at most ``most``."""
    need = 0
    for p in points:
        while need < most and abs(round(p, need) - p) > 1e-9:
            need += 1
    return min(need + 1, most)


def _num(x: float, places: int = 3) -> str:
    text = f"{x:.{places}f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text == "-0" else text
