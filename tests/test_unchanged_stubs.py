"""A file that is byte for byte its released stub is never run: its exercises are "missing",
decided by the judge from the bytes, and no sandbox is started for it. Anything else runs."""

import json
import shutil

from click.testing import CliRunner
from conftest import REPO

from leedl_grader.cli import main

CH01 = REPO / "assignments" / "ch01_optimization"
CH07 = REPO / "assignments" / "ch07_reinforcement"


def _grade(chapter: str, subs, out) -> dict:
    res = CliRunner().invoke(main, ["grade", chapter, str(subs), "--out", str(out), "--seed", "3"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}


def _by_file(record: dict) -> dict:
    out = {}
    for t in record["tests"]:
        out.setdefault(t["exercise"].split(".")[0], []).append(t)
    return out


def test_unchanged_stubs_start_no_sandbox_and_edited_ones_run(tmp_path):
    subs = tmp_path / "subs"
    for name in ("untouched", "edited"):
        (subs / name).mkdir(parents=True)
        for f in CH01.glob("[a-z]*.py"):
            shutil.copy(f, subs / name / f.name)
    with open(subs / "edited" / "schedules.py", "a", encoding="utf-8") as f:
        f.write("# started on this one\n")
    graded = _grade("ch01", subs, tmp_path / "out")

    untouched = graded["untouched"]
    assert untouched["score"] == 0 and untouched["usage"] == {}  # no cgroup: not one process ran
    for file, tests in _by_file(untouched).items():
        assert {t["outcome"] for t in tests} == {"missing"}, file
        assert all(f"{file}.py is unchanged from the stub" in t["output"] for t in tests)

    edited = _by_file(graded["edited"])
    assert graded["edited"]["score"] == 0 and graded["edited"]["usage"]["cpu_s"] > 0
    ran = edited.pop("schedules")  # the edited file ran: the stub's own NotImplementedError, with its line
    assert {t["outcome"] for t in ran} == {"missing"}
    assert all("not implemented yet (schedules.py:" in t["output"] for t in ran), ran[0]["output"]
    for file, tests in edited.items():
        assert all("unchanged from the stub" in t["output"] for t in tests), file


def test_an_unchanged_stub_that_imports_an_edited_sibling_runs(tmp_path):
    """``policy_gradient.py`` imports ``returns.py``: with the reference's returns.py beside it, the
    unchanged stub is run (the sibling could change what it does), and still scores nothing."""
    sub = tmp_path / "subs" / "half"
    sub.mkdir(parents=True)
    for f in CH07.glob("[a-z]*.py"):
        shutil.copy(f, sub / f.name)
    shutil.copy(REPO / "solutions" / "ch07_reinforcement" / "returns.py", sub / "returns.py")
    graded = _by_file(_grade("ch07", tmp_path / "subs", tmp_path / "out")["half"])
    assert all(t["outcome"] == "passed" for t in graded["returns"])
    pg = graded["policy_gradient"]
    assert all(t["score"] == 0 for t in pg)
    assert not any("unchanged from the stub" in t["output"] for t in pg)
    assert any("not implemented yet (policy_gradient.py:" in t["output"] for t in pg)
    assert all("unchanged from the stub" in t["output"] for t in graded["dqn"])
