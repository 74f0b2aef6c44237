"""Result files, derived from the model: Gradescope-compatible JSON and the CSV gradebook.

``<student>.json`` is a valid Gradescope ``results.json`` (score, execution_time, tests with
name/score/max_score/status/output/visibility) with leedl's own fields beside. Files are written
atomically (temporary file, fsync, rename), so a killed batch never leaves half a result.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from .exports.text import csv_cell
from .model import CheckResult, Outcome, SubmissionResult

_SPEED = " (speed: {:.2f}x the yardstick's time)"


def _message(output: str, outcome: str, ratio) -> str:
    """The check's own message back from a test's ``output`` (inverse of :func:`test_json`)."""
    if outcome == "passed" and output.startswith("passed"):
        output = output[len("passed"):]
    else:
        output = output.split("] ", 1)[-1]
    if ratio is not None and output.endswith(_SPEED.format(ratio)):
        output = output[: -len(_SPEED.format(ratio))]
    return output


def test_json(r: CheckResult) -> dict:
    outcome = r.outcome.value
    output = r.message if r.outcome is not Outcome.PASSED else "passed"
    if r.outcome is not Outcome.PASSED:
        output = f"[{outcome}] {r.message}"
    if r.ratio is not None:
        output += _SPEED.format(r.ratio)
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


def to_json(result: SubmissionResult) -> dict:
    return {
        "student": result.student,
        "assignment": result.assignment,
        "score": result.score,
        "max_score": result.max_score,
        "execution_time": result.execution_time,
        "leedl_version": result.leedl_version,
        "seed": result.seed,
        "sandbox": result.sandbox,
        "device": result.device,
        "key": result.key,
        "output": "\n".join(result.notes),
        "tests": [test_json(r) for r in result.results],
    }


def from_json(data: dict) -> SubmissionResult:
    results = tuple(
        CheckResult(
            name=t["name"].split(": ", 1)[-1], exercise=t["exercise"], outcome=Outcome(t["outcome"]),
            score=float(t["score"]), max_score=float(t["max_score"]),
            message=_message(t["output"], t["outcome"], t.get("ratio")),
            visibility="visible" if t["visibility"] == "visible" else "hidden", ratio=t.get("ratio"),
            kind=t.get("kind", "correctness"), duration=float(t.get("duration", 0.0)),
        )
        for t in data["tests"]
    )
    return SubmissionResult(
        student=data["student"], assignment=data["assignment"], seed=int(data["seed"]), sandbox=data["sandbox"],
        leedl_version=data["leedl_version"], results=results, execution_time=float(data["execution_time"]),
        device=data.get("device", "cpu"), key=data.get("key", ""),
        notes=tuple(n for n in data.get("output", "").splitlines() if n),
    )


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


def write_result(out: Path, result: SubmissionResult) -> Path:
    path = Path(out) / f"{result.student}.json"
    atomic_write(path, json.dumps(to_json(result), indent=2, ensure_ascii=False) + "\n")
    return path


def read_result(path: Path) -> SubmissionResult | None:
    try:
        return from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
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
