"""Every limit per sandbox, a judge no reply can hurt, cheap hangs: bounded hostile submissions
(tests/bounded/, see its README) graded for real in one strict batch beside honest bystanders."""

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sandbox_util import require_strict
from test_hostile import HOSTILE, _course

from leedl_grader.cli import main

BOUNDED = Path(__file__).resolve().parent / "bounded"
CASES = sorted(d.name for d in BOUNDED.iterdir() if d.is_dir() and not d.name.startswith("_"))
BYSTANDERS = ("honest_a", "honest_b", "honest_c")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require_strict()
    base = tmp_path_factory.mktemp("bounded")
    course = _course(base / "course")
    ref = course / "solutions" / "ch99_demo"
    subs = base / "subs"
    for case in CASES:
        shutil.copytree(BOUNDED / case, subs / case)
    shutil.copytree(HOSTILE / "_baseline", subs / "baseline")
    for honest in BYSTANDERS:
        (subs / honest).mkdir()
        for f in ("ops.py", "util.py"):
            shutil.copy(ref / f, subs / honest / f)
    out = base / "out"
    t0 = time.monotonic()
    r = CliRunner().invoke(main, ["grade", "ch99", str(subs), "--out", str(out), "--jobs", "2",
                                  "--course", str(course), "--seed", "5"], catch_exceptions=False)
    elapsed = time.monotonic() - t0
    results = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    return dict(r=r, out=out, results=results, elapsed=elapsed)


def outcomes(result, exercise):
    return {t["outcome"] for t in result["tests"] if t["exercise"] == exercise}


def messages(result, exercise):
    return " ".join(t["output"] for t in result["tests"] if t["exercise"] == exercise)


def test_bystanders_lose_nothing(graded):
    assert graded["r"].exit_code == 0, graded["r"].output
    res = graded["results"]
    assert set(res) == set(CASES) | set(BYSTANDERS) | {"baseline"}
    for honest in BYSTANDERS:
        assert res[honest]["score"] == res[honest]["max_score"] == 8, res[honest]
    assert not any(r["judge_faults"] for r in res.values())
    assert "grader faults" not in graded["r"].output


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("reply_")])
def test_a_malformed_reply_is_the_students_crash(graded, case):
    res = graded["results"][case]
    assert outcomes(res, "util.halve") == {"crashed"}, res["tests"]
    assert "reply that cannot be graded" in messages(res, "util.halve")
    assert outcomes(res, "ops.double") <= {"passed", "failed"}  # the other exercises ran as usual
