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
import tempfile
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


def atomic_write(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "total", "max", *exercises])
    for r in sorted(results, key=lambda r: r.student):
        per = {e.name: e.score for e in r.exercises()}
        w.writerow([csv_cell(r.student), _num(r.score), _num(r.max_score), *[_num(per.get(e, 0.0)) for e in exercises]])
    return buf.getvalue()


def _num(x: float) -> str:
    return f"{x:g}"
