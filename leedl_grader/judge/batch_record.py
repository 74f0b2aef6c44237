"""What a batch keeps beside its results (``OUT/.leedl/batch.json`` and the gradebook): the seed,
the time limits measured once from the reference, so that a rerun grades alike.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

from .. import __version__
from ..model import SubmissionResult
from . import results
from .batch import Suite, new_seed
from .budget import TimeLimits, derive
from .runner import JudgeOptions


def write_gradebook(out: Path, exercises: list[str], graded: list[SubmissionResult]) -> Path:
    path = Path(out) / "grades.csv"
    results.atomic_write(path, results.gradebook_csv(graded, exercises))
    return path


CLASS_DIR = ".leedl"  # the class's own files: no student's name starts with a dot


def class_record(out: Path) -> Path:
    return Path(out) / CLASS_DIR / "batch.json"


def _record(out: Path) -> dict:
    try:
        data = json.loads(class_record(out).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def time_limits(out: Path, suite: Suite, options: JudgeOptions, seed: int,
                measure: Callable[[], SubmissionResult]) -> TimeLimits:
    """The batch's time limits: those stored with the seed in the class record when the seed,
    checks, reference, grader and device are the same (a rerun grades alike), else derived from
    ``measure()`` (the reference graded once) and stored there."""
    key = hashlib.sha256(f"{suite.fingerprint()}|{__version__}|{seed}|{options.device}".encode()).hexdigest()
    record = _record(out)
    stored = record.get("time_limits")
    if isinstance(stored, dict) and stored.get("key") == key:
        try:
            return TimeLimits.from_json(stored)
        except (KeyError, TypeError, ValueError):
            pass
    _, checks, _, _ = suite.load()
    limits = derive(checks, measure())
    record.update(seed=seed, leedl_version=__version__, time_limits={**limits.to_json(), "key": key})
    results.atomic_write(class_record(out), json.dumps(record, indent=1) + "\n")
    return limits


def batch_seed(out: Path, seed: int | None) -> int:
    """The batch's seed: given, else the one recorded in ``out`` (resume), else a new one."""
    record = class_record(out)
    if seed is None and record.is_file():
        try:
            seed = int(json.loads(record.read_text())["seed"])
        except (ValueError, KeyError, TypeError):
            seed = None
    if seed is None:
        seed = new_seed()
    data = _record(out)
    if data.get("seed") != seed:
        data = {}  # limits measured for another seed are measured again
    data.update(seed=seed, leedl_version=__version__)
    results.atomic_write(record, json.dumps(data, indent=1) + "\n")
    return seed
