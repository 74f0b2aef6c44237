"""Side properties pay only with the work: a check of ``kind="side"`` (inputs left alone, a dtype,
a None case) scores only where every correctness check of its exercise passed."""

import json
import re

import pytest
from click.testing import CliRunner
from conftest import GOOD_OPS, REPO, write_submission

from leedl_grader.cli import main
from leedl_grader.judge.runner import side_properties_pay_with_the_work
from leedl_grader.model import CheckResult, Outcome


def r(name, kind, outcome, score):
    return CheckResult(name=name, exercise="ops.double", outcome=outcome, score=score, max_score=1.0, message="",
                       kind=kind)


def test_a_side_check_pays_only_when_every_correctness_check_passed():
    side = r("leaves_input_alone", "side", Outcome.PASSED, 1.0)
    wrong = side_properties_pay_with_the_work([r("values", "correctness", Outcome.FAILED, 0.0), side])
    assert wrong[1].score == 0 and wrong[1].outcome is Outcome.FAILED and "main checks" in wrong[1].message
    right = side_properties_pay_with_the_work([r("values", "correctness", Outcome.PASSED, 1.0), side])
    assert right[1] == side
    speed = side_properties_pay_with_the_work([r("values", "correctness", Outcome.PASSED, 1.0),
                                               r("fast", "speed", Outcome.FAILED, 0.0), side])
    assert speed[2] == side  # only correctness checks gate


def test_stub_and_do_nothing_submissions_earn_no_side_points(course, tmp_path):
    hidden = course / "assignments" / "ch99_demo" / "hidden" / "test_inputs.py"
    hidden.write_text(hidden.read_text().replace('@check("ops.double", points=1, timeout=5)',
                                                 '@check("ops.double", points=1, timeout=5, kind="side")'))
    subs = tmp_path / "subs"
    write_submission(subs, "stub", "def double(x):\n    raise NotImplementedError\n")
    write_submission(subs, "nothing", "def double(x):\n    return None\n")  # leaves its input alone
    write_submission(subs, "identity", "def double(x):\n    return x\n")
    write_submission(subs, "honest", GOOD_OPS)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["grade", "ch99", str(subs), "--out", str(out), "--seed", "2"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    side = {}
    for name in ("stub", "nothing", "identity", "honest"):
        (t,) = [t for t in json.loads((out / f"{name}.json").read_text())["tests"]
                if t["name"].endswith("double_leaves_input_alone")]
        side[name] = t
    assert side["honest"]["score"] == 1
    for name in ("stub", "nothing", "identity"):
        assert side[name]["score"] == 0, side[name]
    assert "main checks must pass first" in side["identity"]["output"]


@pytest.mark.slow
def test_chapter_one_stubs_that_return_none_score_nothing(tmp_path):
    """Before: 3/108 (five "input not modified" and "None case" checks paid for no work)."""
    sub = tmp_path / "subs" / "nones"
    sub.mkdir(parents=True)
    for f in (REPO / "assignments" / "ch01_optimization").glob("*.py"):
        (sub / f.name).write_text(re.sub(r"raise NotImplementedError\([^\n]*\)", "return None", f.read_text()))
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["grade", "ch01", str(tmp_path / "subs"), "--out", str(out), "--seed", "1",
                                    "--course", str(REPO)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    data = json.loads((out / "nones.json").read_text())
    assert data["score"] == 0, [t["name"] for t in data["tests"] if t["score"]]
