"""`leedl grade` for TAs: clear refusals (no class, one student's folder, a bad --out), near-miss
file names, --only, -k, a gradebook rounded to the points, result files the TA can read."""

import csv
import json
import os
import stat

import pytest
from click.testing import CliRunner
from conftest import GOOD_OPS, write_submission

from leedl_grader.cli import main
from leedl_grader.judge import results

BAD_DOUBLE = GOOD_OPS.replace("return x * 2", "return x * 2 + 1e-3")


def grade(*args, env=None):
    return CliRunner().invoke(main, ["grade", "ch99", *map(str, args)], env=env)


def one_line_error(r, *words):
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)
    for w in words:
        assert w in r.output, r.output
    assert len([ln for ln in r.output.splitlines() if ln.strip()]) == 1, r.output  # one line, nothing else


def test_an_empty_class_is_refused(course, tmp_path):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "notes.txt").write_text("nothing handed in yet")
    r = grade(tmp_path / "subs", "--out", tmp_path / "out")
    one_line_error(r, "holds no submissions")
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_one_students_folder_is_refused_with_the_check_command(course, tmp_path):
    d = write_submission(tmp_path, "alice", GOOD_OPS)
    r = grade(d, "--out", tmp_path / "out")
    one_line_error(r, "looks like one student's folder", "ops.py", "leedl check ch99")
    wc = tmp_path / "wc"
    write_submission(wc, "ch99_demo", GOOD_OPS)  # a working copy: only the chapter's folder
    one_line_error(grade(wc, "--out", tmp_path / "out"), "one student's working copy")


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_a_bad_out_is_a_clear_error(course, tmp_path, where):
    write_submission(tmp_path / "subs", "alice", GOOD_OPS)
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "out" if where == "under-a-file" else "/proc/leedl-out"
    r = grade(tmp_path / "subs", "--out", out)
    one_line_error(r, "--out", "cannot write there")
    if where == "under-a-file":
        assert "is a file" in r.output


def test_a_near_miss_file_name_is_named(course, tmp_path):
    d = tmp_path / "subs" / "alice"
    d.mkdir(parents=True)
    (d / "Ops (1).py").write_text(GOOD_OPS)
    r = grade(tmp_path / "subs", "--out", tmp_path / "out", "--seed", "1")
    assert r.exit_code == 0, r.output
    alice = json.loads((tmp_path / "out" / "alice.json").read_text())
    assert "'Ops (1).py' looks like ops.py: rename it to ops.py" in alice["output"]
    assert all("rename it to ops.py" in t["output"] for t in alice["tests"])
    assert alice["score"] == 0  # named, never graded in its place


def test_only_regrades_the_named_students_and_keeps_the_others(course, tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    write_submission(subs, "alice", GOOD_OPS)
    write_submission(subs, "bob", GOOD_OPS)
    assert grade(subs, "--out", out, "--seed", "3").exit_code == 0
    alice_before = (out / "alice.json").read_text()
    (subs / "alice" / "ops.py").write_text(BAD_DOUBLE)  # changed, but not asked for
    (subs / "bob" / "ops.py").write_text(BAD_DOUBLE)
    r = grade(subs, "--out", out, "--only", "bob")
    assert r.exit_code == 0, r.output
    assert (out / "alice.json").read_text() == alice_before
    rows = {row["student"]: row for row in csv.DictReader((out / "grades.csv").open())}
    assert set(rows) == {"alice", "bob"} and rows["alice"]["total"] == "7" and float(rows["bob"]["total"]) < 7
    one_line_error(grade(subs, "--out", out, "--only", "bobb"), "no such student", "did you mean bob?")


def test_k_regrades_one_exercise_and_keeps_the_others(course, tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    write_submission(subs, "alice", GOOD_OPS)
    assert grade(subs, "--out", out, "--seed", "3").exit_code == 0
    before = results.read_result(out / "alice.json")
    # Both exercises changed; -k regrades softplus only: double keeps its earlier (passed) result.
    both_bad = BAD_DOUBLE.replace("torch.logaddexp(x, torch.zeros_like(x))", "torch.log(1 + torch.exp(x))")
    (subs / "alice" / "ops.py").write_text(both_bad)
    r = grade(subs, "--out", out, "-k", "softplus")
    assert r.exit_code == 0, r.output
    after = results.read_result(out / "alice.json")
    double = [c for c in after.results if c.exercise == "ops.double"]
    assert double == [c for c in before.results if c.exercise == "ops.double"]
    assert all(c.outcome.value == "passed" for c in double)
    assert any(c.outcome.value != "passed" for c in after.results if c.exercise == "ops.softplus")
    assert [c.name for c in after.results] == [c.name for c in before.results]  # the chapter's order
    assert any("regraded only ops.softplus" in n for n in after.notes)
    one_line_error(grade(subs, "--out", out, "-k", "softmax"), "softplus")


def test_gradebook_is_rounded_to_the_points_and_json_stays_exact():
    from leedl_grader.model import CheckResult, Outcome, SubmissionResult

    cs = tuple(CheckResult(name=f"c{i}", exercise="ops.double", outcome=Outcome.PARTIAL, score=s, max_score=0.5,
                           message="", visibility="hidden", kind="correctness")
               for i, s in enumerate([0.4514, 0.25, 0.5]))
    r = SubmissionResult(student="ann", assignment="ch99_demo", seed=1, sandbox="strict", leedl_version="x",
                         results=cs)
    row = list(csv.reader(results.gradebook_csv([r], ["ops.double"]).splitlines()))[1]
    assert row == ["ann", "1.2", "1.5", "1.2"]  # 1.2014: points in halves are shown to 0.01
    assert results.from_record(results.to_record(r)).results[0].score == 0.4514


def test_result_files_go_to_the_sudo_user_and_the_group(course, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("changing owners needs root")
    subs, out = tmp_path / "subs", tmp_path / "out"
    write_submission(subs, "alice", GOOD_OPS)
    r = grade(subs, "--out", out, "--group", "12345", env={"SUDO_UID": "4321", "SUDO_GID": "4321"})
    assert r.exit_code == 0, r.output
    for p in (out, out / "alice.json", out / "grades.csv", out / ".leedl" / "batch.json"):
        st = p.stat()
        assert (st.st_uid, st.st_gid) == (4321, 12345), p
        assert st.st_mode & stat.S_IRGRP, p
    one_line_error(grade(subs, "--out", out, "--group", "no-such-group-here"), "no group")


def test_check_hidden_with_the_seed_reproduces_a_grade(course, tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    write_submission(subs, "bob", BAD_DOUBLE)
    assert grade(subs, "--out", out, "--seed", "11").exit_code == 0
    graded = results.read_result(out / "bob.json")
    r = CliRunner().invoke(main, ["check", "ch99", str(subs / "bob"), "--hidden", "--seed", "11", "--json",
                                  str(tmp_path / "r.json")])
    assert r.exit_code == 1, r.output
    again = results.read_result(tmp_path / "r.json")
    assert [(c.name, c.score, c.message) for c in again.results] == \
        [(c.name, c.score, c.message) for c in graded.results]
